package io.weft.daemon.stats;

import java.util.ArrayList;
import java.util.List;

/**
 * A derived statistics value: an arithmetic expression evaluated at report time against its scope
 * (DESIGN §7). Parsed and checked once, by {@link #parse}; evaluation never changes stored values.
 *
 * <p>Grammar (whitespace is free between tokens):
 *
 * <pre>
 * expr     = term { ("+" | "-") term }
 * term     = unary { ("*" | "/" | "%") unary }
 * unary    = "-" unary | primary
 * primary  = number | name | call | "(" expr ")"
 * number   = digits [ "." digits ] [ ("e" | "E") [ "+" | "-" ] digits ]
 * name     = identifier | "[" any text but "]" "]"          (a sibling entry: [Start Time])
 * call     = "now()" | "uptime()" | "rate(" arg ")"
 *          | ("sum" | "avg" | "min" | "max") "(" arg "," arg ")" | "count(" arg ")"
 * arg      = "[" any text but "]" "]" | text up to "," or ")" (trimmed; may hold spaces)
 * </pre>
 *
 * Aggregates ({@code sum(Table Statistics, Rows)}) exist only in namespace scope; in record scope
 * names refer to the record's values.
 */
public final class Expression {

    /** Longest expression accepted, in characters. */
    static final int MAX_LENGTH = 1000;
    /** Deepest nesting of parentheses and operators. */
    static final int MAX_DEPTH = 64;

    private final String text;
    private final Node root;

    private Expression(String text, Node root) {
        this.text = text;
        this.root = root;
    }

    /**
     * Parses and checks an expression.
     *
     * @param text the expression
     * @param recordScope true when it will be evaluated against records of a collection
     * @throws ExpressionException naming the fault and its position
     */
    public static Expression parse(String text, boolean recordScope) throws ExpressionException {
        if (text.length() > MAX_LENGTH) {
            throw new ExpressionException("expression is longer than " + MAX_LENGTH + " characters", MAX_LENGTH + 1);
        }
        return new Expression(text, new Parser(text, recordScope).parseAll());
    }

    /** The text it was parsed from. */
    public String text() {
        return text;
    }

    /**
     * Evaluates against a scope.
     *
     * @throws EvalException when it cannot be evaluated now
     */
    double evaluate(EvalScope scope) {
        double v = root.eval(scope);
        if (Double.isNaN(v) || Double.isInfinite(v)) {
            throw new EvalException("result is not a finite number");
        }
        return v;
    }

    @Override
    public String toString() {
        return text;
    }

    // ---- AST ----

    private interface Node {
        double eval(EvalScope s);
    }

    private record Num(double value) implements Node {
        @Override
        public double eval(EvalScope s) {
            return value;
        }
    }

    private record Ref(String name) implements Node {
        @Override
        public double eval(EvalScope s) {
            return s.number(name);
        }
    }

    private record Neg(Node inner) implements Node {
        @Override
        public double eval(EvalScope s) {
            return -inner.eval(s);
        }
    }

    private record Bin(char op, Node left, Node right) implements Node {
        @Override
        public double eval(EvalScope s) {
            double a = left.eval(s);
            double b = right.eval(s);
            switch (op) {
                case '+':
                    return a + b;
                case '-':
                    return a - b;
                case '*':
                    return a * b;
                case '/':
                    if (b == 0) {
                        throw new EvalException("division by zero");
                    }
                    return a / b;
                default:
                    if (b == 0) {
                        throw new EvalException("modulo by zero");
                    }
                    return a % b;
            }
        }

    }

    private record Call(String function, List<String> args) implements Node {
        @Override
        public double eval(EvalScope s) {
            switch (function) {
                case "now":
                    return s.now();
                case "uptime":
                    return s.uptime();
                case "rate":
                    return s.rate(args.get(0));
                case "count":
                    return s.count(args.get(0));
                default:
                    EvalScope.Aggregate a = new EvalScope.Aggregate();
                    s.aggregate(args.get(0), args.get(1), a);
                    if (function.equals("sum")) {
                        return a.sum;
                    }
                    if (a.n == 0) {
                        throw new EvalException(function + "(" + args.get(0) + ", " + args.get(1)
                                + "): no record has a number '" + args.get(1) + "'");
                    }
                    return function.equals("avg") ? a.sum / a.n : function.equals("min") ? a.min : a.max;
            }
        }
    }

    // ---- parser ----

    private static final class Parser {
        private final String s;
        private final boolean recordScope;
        private int i;
        private int depth;

        Parser(String s, boolean recordScope) {
            this.s = s;
            this.recordScope = recordScope;
        }

        Node parseAll() throws ExpressionException {
            skipSpace();
            if (i >= s.length()) {
                throw fault("expression is empty", 0);
            }
            Node n = expr();
            skipSpace();
            if (i < s.length()) {
                throw fault("unexpected '" + s.charAt(i) + "'", i);
            }
            return n;
        }

        private Node expr() throws ExpressionException {
            enter();
            Node left = term();
            while (true) {
                skipSpace();
                if (peek('+') || peek('-')) {
                    char op = s.charAt(i++);
                    left = new Bin(op, left, term());
                } else {
                    depth--;
                    return left;
                }
            }
        }

        private Node term() throws ExpressionException {
            Node left = unary();
            while (true) {
                skipSpace();
                if (peek('*') || peek('/') || peek('%')) {
                    char op = s.charAt(i++);
                    left = new Bin(op, left, unary());
                } else {
                    return left;
                }
            }
        }

        private Node unary() throws ExpressionException {
            skipSpace();
            if (peek('-')) {
                i++;
                enter();
                Node n = new Neg(unary());
                depth--;
                return n;
            }
            return primary();
        }

        private Node primary() throws ExpressionException {
            skipSpace();
            if (i >= s.length()) {
                throw fault("expression ends where a value was expected", i);
            }
            char c = s.charAt(i);
            if (c == '(') {
                int open = i++;
                Node n = expr();
                skipSpace();
                if (!peek(')')) {
                    throw fault("'(' is not closed", open);
                }
                i++;
                return n;
            }
            if (c == '[') {
                return new Ref(bracketed());
            }
            if (Character.isDigit(c) || c == '.') {
                return number();
            }
            if (Character.isLetter(c) || c == '_') {
                int start = i;
                while (i < s.length() && (Character.isLetterOrDigit(s.charAt(i)) || s.charAt(i) == '_')) {
                    i++;
                }
                String word = s.substring(start, i);
                skipSpace();
                if (peek('(')) {
                    return call(word, start);
                }
                return new Ref(word);
            }
            throw fault("unexpected '" + c + "'", i);
        }

        private Node number() throws ExpressionException {
            int start = i;
            while (i < s.length() && (Character.isDigit(s.charAt(i)) || s.charAt(i) == '.')) {
                i++;
            }
            if (i < s.length() && (s.charAt(i) == 'e' || s.charAt(i) == 'E')) {
                i++;
                if (i < s.length() && (s.charAt(i) == '+' || s.charAt(i) == '-')) {
                    i++;
                }
                while (i < s.length() && Character.isDigit(s.charAt(i))) {
                    i++;
                }
            }
            String text = s.substring(start, i);
            try {
                double v = Double.parseDouble(text);
                if (Double.isInfinite(v)) {
                    throw fault("number '" + text + "' is too large", start);
                }
                return new Num(v);
            } catch (NumberFormatException e) {
                throw fault("malformed number '" + text + "'", start);
            }
        }

        private String bracketed() throws ExpressionException {
            int open = i++;
            int close = s.indexOf(']', i);
            if (close < 0) {
                throw fault("'[' is not closed", open);
            }
            String name = s.substring(i, close);
            if (name.isBlank()) {
                throw fault("empty name in brackets", open);
            }
            i = close + 1;
            return name;
        }

        private Node call(String function, int at) throws ExpressionException {
            int arity;
            switch (function) {
                case "now":
                case "uptime":
                    arity = 0;
                    break;
                case "rate":
                    arity = 1;
                    break;
                case "count":
                case "sum":
                case "avg":
                case "min":
                case "max":
                    if (recordScope) {
                        throw fault(function + "() aggregates a collection and is not available in a record's scope", at);
                    }
                    arity = function.equals("count") ? 1 : 2;
                    break;
                default:
                    throw fault("unknown function '" + function + "' (known: now, uptime, rate, sum, avg, min, max,"
                            + " count)", at);
            }
            i++; // '('
            List<String> args = new ArrayList<>(arity);
            skipSpace();
            if (!peek(')')) {
                while (true) {
                    args.add(argument(function));
                    skipSpace();
                    if (peek(',')) {
                        i++;
                        continue;
                    }
                    if (peek(')')) {
                        break;
                    }
                    throw fault(i >= s.length() ? "'" + function + "(' is not closed" : "unexpected '" + s.charAt(i) + "'",
                            i >= s.length() ? at : i);
                }
            }
            i++; // ')'
            if (args.size() != arity) {
                throw fault(function + "() takes " + arity + (arity == 1 ? " argument" : " arguments") + ", not "
                        + args.size(), at);
            }
            return new Call(function, List.copyOf(args));
        }

        /** A name argument: bracketed, or raw text up to ',' or ')' (spaces allowed inside). */
        private String argument(String function) throws ExpressionException {
            skipSpace();
            if (peek('[')) {
                return bracketed();
            }
            int start = i;
            while (i < s.length() && ",()[]".indexOf(s.charAt(i)) < 0) {
                i++;
            }
            String name = s.substring(start, i).trim();
            if (name.isEmpty()) {
                throw fault(function + "() expects a name here", start);
            }
            if (i < s.length() && (s.charAt(i) == '(' || s.charAt(i) == '[')) {
                throw fault(function + "() takes names, not expressions", i);
            }
            return name;
        }

        private void enter() throws ExpressionException {
            if (++depth > MAX_DEPTH) {
                throw fault("expression is nested deeper than " + MAX_DEPTH, i);
            }
        }

        private boolean peek(char c) {
            return i < s.length() && s.charAt(i) == c;
        }

        private void skipSpace() {
            while (i < s.length() && Character.isWhitespace(s.charAt(i))) {
                i++;
            }
        }

        private static ExpressionException fault(String message, int index) {
            return new ExpressionException(message, index + 1);
        }
    }
}
