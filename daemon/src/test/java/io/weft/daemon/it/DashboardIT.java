package io.weft.daemon.it;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.weft.daemon.testing.WeftdProcess;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * The dashboard loaded in headless Chromium (Debian's chromium): its script fetches the JSON
 * endpoints and renders the tables with the values recorded. Leaves a screenshot at
 * {@code daemon/target/dashboard.png}.
 */
class DashboardIT {

    private static final List<String> FLAGS = List.of("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
            "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync",
            "--virtual-time-budget=5000");

    private static List<String> chromium(Path profile, String... more) {
        List<String> cmd = new ArrayList<>();
        cmd.add(Tools.require("chromium", "chromium"));
        cmd.addAll(FLAGS);
        cmd.add("--user-data-dir=" + profile);
        cmd.addAll(Arrays.asList(more));
        return cmd;
    }

    @Test
    void shouldRenderEveryTableWithTheRecordedValuesWhenLoadedInABrowser() throws Exception {
        try (WeftdProcess weftd = WeftdProcess.builder().http(true).start()) {
            HttpIT.populate(weftd);
            String url = "http://127.0.0.1:" + weftd.httpPort() + "/";
            String dom = Tools.run(Duration.ofSeconds(90), null,
                    chromium(weftd.dir().resolve("chromium-dom"), "--dump-dom", url));

            Matcher refreshes = Pattern.compile("id=\"refreshes\">(\\d+)<").matcher(dom);
            assertTrue(refreshes.find() && Integer.parseInt(refreshes.group(1)) >= 1,
                    "the script refreshed the page at least once:\n" + dom);
            assertContains(dom, "<section class=\"namespace\" data-namespace=\"My Stuff\">");
            assertContains(dom, "<tr><th>Important Events</th><td class=\"num\">12345</td></tr>");
            assertContains(dom, "<tr><th>Host</th><td>web-1</td></tr>");
            assertContains(dom, "<tr><th>Total Rows</th><td class=\"num\">1307845</td></tr>");
            assertContains(dom, "<tr><th>Broken</th><td class=\"null\">null</td></tr>");
            assertContains(dom, "<li>Broken: 'Host' holds the string 'web-1', not a number ([Host] + 1)</li>");
            assertContains(dom, "<table class=\"collection\" data-collection=\"Table Statistics\">");
            assertContains(dom, "<tr><th>widgets</th><td class=\"num\">1300000</td><td class=\"num\">400</td></tr>");
            assertContains(dom, "<td>SELECT * FROM widgets;</td>");
            assertContains(dom, "<section class=\"namespace\" data-namespace=\"Other\">");
            assertContains(dom, "<table id=\"queue-table\">");
            assertContains(dom, "<th>inbound</th>");
            assertContains(dom, "<table id=\"objects-table\">");
            assertContains(dom, "<td>req-4</td><td>shop.checkout</td>");
            assertContains(dom, "<table class=\"recent\" data-key=\"shop.checkout\">");

            Path shot = Path.of("target", "dashboard.png").toAbsolutePath();
            Files.deleteIfExists(shot);
            Tools.run(Duration.ofSeconds(90), null, chromium(weftd.dir().resolve("chromium-shot"),
                    "--window-size=1280,1600", "--screenshot=" + shot, url));
            byte[] png = Files.readAllBytes(shot);
            assertArrayEquals(new byte[] {(byte) 0x89, 'P', 'N', 'G'}, Arrays.copyOf(png, 4));
            assertTrue(png.length > 20_000, "a rendered page, not a blank one: " + png.length + " bytes");
        }
    }

    private static void assertContains(String dom, String part) {
        assertTrue(dom.contains(part), () -> "the dashboard lacks " + part + "\n--- DOM ---\n" + dom);
    }
}
