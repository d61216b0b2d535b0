package weft

import "strings"

// render fills a log template from a context's fields, as Contexture's
// 'my foo is {foo}'.format(**fields): {name} becomes the field's text (value.text); doubled
// braces are literal braces. A name that is not a field (or is ignored), and anything
// Python's format would read as a format spec or attribute ({x:.2f}, {a.b}), stays exactly as
// written, so a log call never fails because of its template.
func render(template string, fields map[string]value) string {
	if !strings.ContainsAny(template, "{}") {
		return template
	}
	var out strings.Builder
	out.Grow(len(template) + 16)
	n := len(template)
	for i := 0; i < n; {
		c := template[i]
		switch {
		case (c == '{' || c == '}') && i+1 < n && template[i+1] == c:
			out.WriteByte(c)
			i += 2
		case c == '{':
			closing := strings.IndexByte(template[i+1:], '}')
			if closing < 0 {
				out.WriteString(template[i:])
				return out.String()
			}
			closing += i + 1
			open := strings.LastIndexByte(template[:closing], '{') // a stray '{' before it stays
			out.WriteString(template[i:open])
			if v, ok := fields[template[open+1:closing]]; ok {
				out.WriteString(v.text())
			} else {
				out.WriteString(template[open : closing+1])
			}
			i = closing + 1
		default:
			out.WriteByte(c)
			i++
		}
	}
	return out.String()
}
