package io.weft.sdk;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.google.protobuf.Value;
import java.util.Map;
import org.junit.jupiter.api.Test;

class TemplateTest {
  private static final Map<String, Value> FIELDS =
      Map.of("foo", Values.toValue(1), "bar", Values.toValue("two"), "a.b", Values.toValue(3));

  @Test
  void shouldSubstituteFieldsWhenNamed() {
    assertEquals("my foo is 1 and my bar is two",
        Template.render("my foo is {foo} and my bar is {bar}", FIELDS));
    assertEquals("3", Template.render("{a.b}", FIELDS));
  }

  @Test
  void shouldLeavePlaceholderUnchangedWhenNameIsNotAField() {
    assertEquals("{missing} and {foo:.2f} and 1",
        Template.render("{missing} and {foo:.2f} and {foo}", FIELDS));
  }

  @Test
  void shouldWriteLiteralBracesWhenDoubled() {
    assertEquals("{foo} = 1 }", Template.render("{{foo}} = {foo} }}", FIELDS));
  }

  @Test
  void shouldKeepTextWhenBraceIsUnclosedOrStray() {
    assertEquals("open { 1", Template.render("open { {foo}", FIELDS));
    assertEquals("tail {foo", Template.render("tail {foo", FIELDS));
    assertEquals("a } b", Template.render("a } b", FIELDS));
    assertEquals("plain", Template.render("plain", FIELDS));
  }
}
