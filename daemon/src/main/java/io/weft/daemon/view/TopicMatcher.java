package io.weft.daemon.view;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Routing-key patterns with AMQP topic semantics, compiled once into a trie.
 *
 * <p>A routing key is dot-separated words. In a pattern, {@code *} matches exactly one
 * word and {@code #} matches zero or more words; any other word matches itself. A key
 * matches the matcher when it matches any of its patterns; no patterns match every key.
 *
 * <p>{@link #matches} first looks in a small direct-mapped cache of recent keys: a hit
 * allocates nothing. A miss runs the trie as an automaton over the key's words, looked up by
 * character range without splitting the key, in time bounded by words x trie nodes for any
 * patterns; it allocates two small bit sets and the cache entry.
 *
 * <p><b>Threading:</b> a matcher is meant to be used by one thread, the broker. The cache
 * holds immutable entries published by a single reference write, so even a racy use can
 * only cost a recomputation, never a wrong answer.
 */
public final class TopicMatcher {

    /** Longest pattern accepted, in UTF-8 bytes (the routing-key limit). */
    public static final int MAX_PATTERN_BYTES = 255;

    private static final int CACHE_SIZE = 256;

    private static final TopicMatcher EVERYTHING = new TopicMatcher(null, new Node[0]);

    /** Null when the matcher has no patterns and so matches everything. */
    private final Node root;
    /** Every node of the trie, indexed by {@link Node#id}. */
    private final Node[] nodes;
    private final Entry[] cache;

    private TopicMatcher(Node root, Node[] nodes) {
        this.root = root;
        this.nodes = nodes;
        this.cache = root == null ? null : new Entry[CACHE_SIZE];
    }

    /**
     * Compiles patterns into one matcher.
     *
     * @param patterns AMQP topic patterns; empty matches every key
     * @return the matcher
     * @throws IllegalArgumentException naming the pattern and the position of the problem
     *     when a pattern is longer than {@value #MAX_PATTERN_BYTES} bytes, has an empty
     *     word, or has a word that is neither {@code [A-Za-z0-9_-]+}, {@code *} nor {@code #}
     */
    public static TopicMatcher compile(List<String> patterns) {
        if (patterns.isEmpty()) {
            return EVERYTHING;
        }
        NodeBuilder root = new NodeBuilder();
        for (String pattern : patterns) {
            NodeBuilder at = root;
            String previous = null;
            for (String word : words(pattern)) {
                // "#.#" matches exactly what "#" matches: collapsing keeps "#" nodes free of "#" children.
                if (!(word.equals("#") && "#".equals(previous))) {
                    at = at.child(word);
                }
                previous = word;
            }
            at.terminal = true;
        }
        List<Node> nodes = new ArrayList<>();
        Node built = root.build(false, nodes);
        return new TopicMatcher(built, nodes.toArray(new Node[0]));
    }

    /**
     * Tells whether a routing key matches any pattern.
     *
     * @param routingKey dot-separated words; the empty key has no words
     * @return true when some pattern matches
     */
    public boolean matches(String routingKey) {
        if (root == null) {
            return true;
        }
        int h = routingKey.hashCode();
        int slot = (h ^ (h >>> 16)) & (CACHE_SIZE - 1);
        Entry cached = cache[slot];
        if (cached != null && cached.key.equals(routingKey)) {
            return cached.result;
        }
        boolean result = walk(routingKey);
        cache[slot] = new Entry(routingKey, result);
        return result;
    }

    /**
     * Runs the trie as an automaton: the set of nodes reachable after each word, advanced one
     * word at a time. Time is at most words x nodes whatever the patterns (backtracking over
     * {@code #} would be exponential for patterns like {@code #.a.#.a.#.a}).
     */
    private boolean walk(String key) {
        long[] current = new long[(nodes.length + 63) >>> 6];
        long[] next = new long[current.length];
        enter(current, root);
        int len = key.length();
        for (int pos = key.isEmpty() ? 1 : 0; pos <= len; ) {
            int end = key.indexOf('.', pos);
            if (end < 0) {
                end = len;
            }
            Arrays.fill(next, 0L);
            boolean any = false;
            for (int w = 0; w < current.length; w++) {
                for (long bits = current[w]; bits != 0; bits &= bits - 1) {
                    Node n = nodes[(w << 6) + Long.numberOfTrailingZeros(bits)];
                    if (n.isHash) {
                        enter(next, n);
                        any = true;
                    }
                    Node literal = n.literal(key, pos, end);
                    if (literal != null) {
                        enter(next, literal);
                        any = true;
                    }
                    if (n.star != null) {
                        enter(next, n.star);
                        any = true;
                    }
                }
            }
            if (!any) {
                return false;
            }
            long[] t = current;
            current = next;
            next = t;
            pos = end + 1;
        }
        for (int w = 0; w < current.length; w++) {
            for (long bits = current[w]; bits != 0; bits &= bits - 1) {
                if (nodes[(w << 6) + Long.numberOfTrailingZeros(bits)].terminal) {
                    return true;
                }
            }
        }
        return false;
    }

    /** Adds a node and, since {@code #} may match zero words, its {@code #} child. */
    private static void enter(long[] set, Node n) {
        set[n.id >>> 6] |= 1L << n.id;
        if (n.hash != null) {
            set[n.hash.id >>> 6] |= 1L << n.hash.id;
        }
    }

    /** Splits and validates a pattern. */
    private static List<String> words(String pattern) {
        int bytes = pattern.getBytes(StandardCharsets.UTF_8).length;
        if (bytes > MAX_PATTERN_BYTES) {
            throw new IllegalArgumentException("routing-key pattern \"" + pattern + "\" is " + bytes
                    + " bytes long; at most " + MAX_PATTERN_BYTES + " are allowed");
        }
        List<String> words = new ArrayList<>();
        int start = 0;
        while (true) {
            int dot = pattern.indexOf('.', start);
            int end = dot < 0 ? pattern.length() : dot;
            String word = pattern.substring(start, end);
            String problem = wordProblem(word);
            if (problem != null) {
                throw new IllegalArgumentException("routing-key pattern \"" + pattern + "\": word "
                        + (words.size() + 1) + " (at offset " + start + ") " + problem);
            }
            words.add(word);
            if (dot < 0) {
                return words;
            }
            start = dot + 1;
        }
    }

    private static String wordProblem(String word) {
        if (word.isEmpty()) {
            return "is empty";
        }
        if (word.equals("*") || word.equals("#")) {
            return null;
        }
        for (int i = 0; i < word.length(); i++) {
            char c = word.charAt(i);
            boolean ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
                    || c == '_' || c == '-';
            if (!ok) {
                return "\"" + word + "\" must be letters, digits, '_' or '-', or exactly \"*\" or \"#\"";
            }
        }
        return null;
    }

    private record Entry(String key, boolean result) {
    }

    /** A trie node under construction. */
    private static final class NodeBuilder {
        final Map<String, NodeBuilder> children = new LinkedHashMap<>();
        boolean terminal;

        NodeBuilder child(String word) {
            return children.computeIfAbsent(word, w -> new NodeBuilder());
        }

        /** Builds this node and its subtree, registering each node in {@code all} (its index is its id). */
        Node build(boolean isHash, List<Node> all) {
            List<String> literals = new ArrayList<>();
            List<Node> literalNodes = new ArrayList<>();
            Node star = null;
            Node hash = null;
            for (Map.Entry<String, NodeBuilder> e : children.entrySet()) {
                Node built = e.getValue().build(e.getKey().equals("#"), all);
                switch (e.getKey()) {
                    case "*" -> star = built;
                    case "#" -> hash = built;
                    default -> {
                        literals.add(e.getKey());
                        literalNodes.add(built);
                    }
                }
            }
            Node node = new Node(all.size(), isHash, literals, literalNodes, star, hash, terminal);
            all.add(node);
            return node;
        }
    }

    /**
     * A compiled trie node. Literal children sit in an open-addressing table hashed the way
     * {@link String#hashCode} hashes, so a word can be looked up by its character range in
     * the key without creating a substring.
     */
    private static final class Node {
        final int id;
        /** A {@code #} node: it consumes any word and stays where it is. */
        final boolean isHash;
        final String[] words;
        final Node[] next;
        final int mask;
        final Node star;
        final Node hash;
        final boolean terminal;

        Node(int id, boolean isHash, List<String> literals, List<Node> nodes, Node star, Node hash,
                boolean terminal) {
            this.id = id;
            this.isHash = isHash;
            int size = Integer.highestOneBit(Math.max(1, literals.size()) * 2 - 1) << 1;
            this.words = new String[size];
            this.next = new Node[size];
            this.mask = size - 1;
            this.star = star;
            this.hash = hash;
            this.terminal = terminal;
            for (int i = 0; i < literals.size(); i++) {
                String w = literals.get(i);
                int slot = spread(w.hashCode()) & mask;
                while (words[slot] != null) {
                    slot = (slot + 1) & mask;
                }
                words[slot] = w;
                next[slot] = nodes.get(i);
            }
        }

        Node literal(String key, int start, int end) {
            int h = 0;
            for (int i = start; i < end; i++) {
                h = 31 * h + key.charAt(i);
            }
            int n = end - start;
            for (int slot = spread(h) & mask; words[slot] != null; slot = (slot + 1) & mask) {
                String w = words[slot];
                if (w.length() == n && key.regionMatches(start, w, 0, n)) {
                    return next[slot];
                }
            }
            return null;
        }

        private static int spread(int h) {
            return h ^ (h >>> 16);
        }
    }
}
