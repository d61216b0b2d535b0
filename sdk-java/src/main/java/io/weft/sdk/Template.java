package io.weft.sdk;

import com.google.protobuf.Value;
import java.util.Map;

/**
 * Renders log templates with a context's fields, as Contexture's
 * {@code 'my foo is {foo}'.format(**fields)}: {@code {name}} becomes the field's text
 * ({@link Values#toText}); doubled braces are literal braces. A name that is
 * not a field (or is ignored), and anything Python's format would treat as a format spec
 * or attribute ({@code {x:.2f}}, {@code {a.b}}), is left exactly as written, so a log call
 * never fails because of its template.
 */
final class Template {
  private Template() {}

  static String render(String template, Map<String, Value> fields) {
    if (template.indexOf('{') < 0 && template.indexOf('}') < 0) {
      return template;
    }
    StringBuilder out = new StringBuilder(template.length() + 16);
    int i = 0;
    int n = template.length();
    while (i < n) {
      char c = template.charAt(i);
      if ((c == '{' || c == '}') && i + 1 < n && template.charAt(i + 1) == c) {
        out.append(c);
        i += 2;
      } else if (c == '{') {
        int close = template.indexOf('}', i + 1);
        if (close < 0) {
          out.append(template, i, n);
          break;
        }
        int open = template.lastIndexOf('{', close); // a stray '{' before it stays as written
        out.append(template, i, open);
        Value v = fields.get(template.substring(open + 1, close));
        if (v == null) {
          out.append(template, open, close + 1);
        } else {
          out.append(Values.toText(v));
        }
        i = close + 1;
      } else {
        out.append(c);
        i++;
      }
    }
    return out.toString();
  }
}
