package io.weft.daemon.stats;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class ExpressionTest {

    /** A scope over plain maps: names to numbers, collections to lists of records. */
    private static final class MapScope implements EvalScope {
        final Map<String, Double> numbers;
        final Map<String, List<Map<String, Double>>> collections;

        MapScope(Map<String, Double> numbers, Map<String, List<Map<String, Double>>> collections) {
            this.numbers = numbers;
            this.collections = collections;
        }

        @Override
        public double now() {
            return 1000.5;
        }

        @Override
        public double uptime() {
            return 42;
        }

        @Override
        public double number(String name) {
            Double v = numbers.get(name);
            if (v == null) {
                throw new EvalException("no entry '" + name + "'");
            }
            return v;
        }

        @Override
        public double rate(String name) {
            return number(name) / 10;
        }

        @Override
        public void aggregate(String collection, String key, Aggregate into) {
            List<Map<String, Double>> records = collections.get(collection);
            if (records == null) {
                throw new EvalException("no collection '" + collection + "'");
            }
            for (Map<String, Double> r : records) {
                if (r.containsKey(key)) {
                    into.add(r.get(key));
                }
            }
        }

        @Override
        public int count(String collection) {
            return collections.get(collection).size();
        }
    }

    private static final MapScope SCOPE = new MapScope(
            Map.of("a", 6.0, "b", 3.0, "Start Time", 1000.0, "Important Events", 50.0),
            Map.of("Table Statistics", List.of(Map.of("Rows", 10.0, "Inserts", 1.0), Map.of("Rows", 30.0),
                    Map.of("Inserts", 5.0))));

    private static double eval(String text) throws ExpressionException {
        return Expression.parse(text, false).evaluate(SCOPE);
    }

    private static ExpressionException bad(String text, boolean recordScope) {
        return assertThrows(ExpressionException.class, () -> Expression.parse(text, recordScope));
    }

    @Test
    void shouldFollowPrecedenceAndParenthesesWhenEvaluatingArithmetic() throws Exception {
        assertEquals(7.0, eval("1 + 2 * 3"));
        assertEquals(9.0, eval("(1 + 2) * 3"));
        assertEquals(2.0, eval("a / b"));
        assertEquals(0.0, eval("a % b"));
        assertEquals(-3.0, eval("-b"));
        assertEquals(9.0, eval("a - -b"));
        assertEquals(1.0, eval("10 - 6 - 3"));
        assertEquals(2500.0, eval("2.5e3"));
        assertEquals(0.5, eval(".5"));
        assertEquals(4.0, eval("((((a)))) - 2"));
    }

    @Test
    void shouldResolveBareAndBracketedNamesWhenReferencingSiblings() throws Exception {
        assertEquals(0.1, eval("[Important Events] / (now() - [Start Time]) / 1000"), 1e-9);
        assertEquals(18.0, eval("a*b"));
    }

    @Test
    void shouldCallClockAndRateFunctionsWhenUsed() throws Exception {
        assertEquals(1000.5, eval("now()"));
        assertEquals(42.0, eval("uptime()"));
        assertEquals(5.0, eval("rate(Important Events)"));
        assertEquals(5.0, eval("rate([Important Events])"));
    }

    @Test
    void shouldAggregateACollectionWhenCallingSumAvgMinMaxCount() throws Exception {
        assertEquals(40.0, eval("sum(Table Statistics, Rows)"));
        assertEquals(20.0, eval("avg(Table Statistics, Rows)"));
        assertEquals(10.0, eval("min([Table Statistics], [Rows])"));
        assertEquals(30.0, eval("max( Table Statistics , Rows )"));
        assertEquals(3.0, eval("count(Table Statistics)"));
        assertEquals(6.0, eval("sum(Table Statistics, Inserts)"));
    }

    @Test
    void shouldFailAtReportTimeWhenANameIsMissingOrAValueIsNotFinite() throws Exception {
        Expression missing = Expression.parse("nothing + 1", false);
        EvalException e = assertThrows(EvalException.class, () -> missing.evaluate(SCOPE));
        assertEquals("no entry 'nothing'", e.getMessage());
        Expression div = Expression.parse("a / (b - 3)", false);
        assertEquals("division by zero", assertThrows(EvalException.class, () -> div.evaluate(SCOPE)).getMessage());
        Expression mod = Expression.parse("a % 0", false);
        assertEquals("modulo by zero", assertThrows(EvalException.class, () -> mod.evaluate(SCOPE)).getMessage());
        Expression huge = Expression.parse("1e308 * 10", false);
        assertEquals("result is not a finite number",
                assertThrows(EvalException.class, () -> huge.evaluate(SCOPE)).getMessage());
        Expression avgNone = Expression.parse("avg(Table Statistics, Nope)", false);
        assertTrue(assertThrows(EvalException.class, () -> avgNone.evaluate(SCOPE)).getMessage()
                .contains("no record has a number 'Nope'"));
    }

    @Test
    void shouldNameTheFaultAndItsPositionWhenTheExpressionIsBad() {
        ExpressionException e = bad("1 + * 2", false);
        assertEquals(5, e.position());
        assertEquals("unexpected '*' at position 5", e.getMessage());
        assertEquals(1, bad("", false).position());
        assertTrue(bad("", false).getMessage().startsWith("expression is empty"));
        assertEquals(1, bad("(1 + 2", false).position());
        assertTrue(bad("(1 + 2", false).getMessage().contains("'(' is not closed"));
        assertEquals(5, bad("a + [Start Time", false).position());
        assertTrue(bad("a + [Start Time", false).getMessage().contains("'[' is not closed"));
        assertEquals(3, bad("1 []", false).position());
        assertTrue(bad("1 + []", false).getMessage().contains("empty name in brackets"));
        assertEquals(5, bad("a + frob(1)", false).position());
        assertTrue(bad("a + frob(1)", false).getMessage().startsWith("unknown function 'frob'"));
        assertTrue(bad("now(1)", false).getMessage().startsWith("now() takes 0 arguments, not 1"));
        assertTrue(bad("sum(Tables)", false).getMessage().startsWith("sum() takes 2 arguments, not 1"));
        assertTrue(bad("rate(f(x))", false).getMessage().startsWith("rate() takes names, not expressions"));
        assertTrue(bad("rate(a", false).getMessage().startsWith("'rate(' is not closed"));
        assertTrue(bad("1 2", false).getMessage().startsWith("unexpected '2'"));
        assertTrue(bad("1..2", false).getMessage().startsWith("malformed number '1..2'"));
        assertTrue(bad("a $ b", false).getMessage().startsWith("unexpected '$'"));
        assertTrue(bad("1e999", false).getMessage().startsWith("number '1e999' is too large"));
        assertTrue(bad("a +", false).getMessage().startsWith("expression ends where a value was expected"));
    }

    @Test
    void shouldRefuseAggregatesWhenTheScopeIsARecord() {
        ExpressionException e = bad("Rows / sum(Table Statistics, Rows)", true);
        assertEquals(8, e.position());
        assertTrue(e.getMessage().startsWith("sum() aggregates a collection and is not available in a record's scope"));
    }

    @Test
    void shouldRefuseExpressionsTooLongOrTooDeepWhenParsing() {
        assertTrue(bad("1+".repeat(600) + "1", false).getMessage().startsWith("expression is longer than 1000"));
        assertTrue(bad("(".repeat(70) + "1" + ")".repeat(70), false).getMessage()
                .startsWith("expression is nested deeper than 64"));
        assertTrue(bad("-".repeat(70) + "1", false).getMessage().startsWith("expression is nested deeper than 64"));
    }
}
