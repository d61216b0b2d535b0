package io.weft.daemon.config;

import java.util.Collection;
import java.util.Optional;

/** "Did you mean" suggestions for misspelt keys, flags and variables. */
final class Names {

    private Names() {
    }

    /**
     * The known name closest to a misspelt one, if it is close enough to be a likely typo.
     *
     * @param wrong the name given
     * @param known the valid names
     * @return the suggestion, or empty
     */
    static Optional<String> closest(String wrong, Collection<String> known) {
        String best = null;
        int bestDistance = Integer.MAX_VALUE;
        for (String k : known) {
            int d = distance(wrong, k);
            if (d < bestDistance) {
                best = k;
                bestDistance = d;
            }
        }
        int allowed = Math.max(2, wrong.length() / 4);
        return bestDistance <= allowed ? Optional.of(best) : Optional.empty();
    }

    /** Formats a suggestion as a message suffix: {@code  (did you mean "x"?)} or nothing. */
    static String didYouMean(String wrong, Collection<String> known) {
        return closest(wrong, known).map(s -> " (did you mean " + s + "?)").orElse("");
    }

    /** Levenshtein distance. */
    private static int distance(String a, String b) {
        int[] prev = new int[b.length() + 1];
        int[] cur = new int[b.length() + 1];
        for (int j = 0; j <= b.length(); j++) {
            prev[j] = j;
        }
        for (int i = 1; i <= a.length(); i++) {
            cur[0] = i;
            for (int j = 1; j <= b.length(); j++) {
                int cost = a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1;
                cur[j] = Math.min(Math.min(cur[j - 1] + 1, prev[j] + 1), prev[j - 1] + cost);
            }
            int[] t = prev;
            prev = cur;
            cur = t;
        }
        return prev[b.length()];
    }
}
