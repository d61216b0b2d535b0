package io.weft.daemon.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.URI;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class BusSettingsConfigTest {

    @Test
    void shouldRunWithoutABusWhenNoUrlIsGiven() throws Exception {
        WeftConfig c = WeftConfig.load(new String[0], Map.of());
        assertEquals(List.of(), c.busUrls());
        assertEquals(BusFormat.CONTEXTURE, c.busFormat());
        assertEquals(BusPolicy.DROP, c.busPolicy());
        assertEquals("weft", c.busExchange());
        assertEquals(List.of(), c.busFleetPatterns());
    }

    @Test
    void shouldReadEveryNodeWhenUrlsAreCommaSeparated() throws Exception {
        WeftConfig c = WeftConfig.load(new String[0], Map.of(
                "WEFT_BUS_URL", "amqp://guest:guest@mq1:5672/%2F, amqps://u:p@mq2:5671/prod",
                "WEFT_BUS_FORMAT", "batch", "WEFT_BUS_EXCHANGE", "lc-topic", "WEFT_BUS_FLEET", "shop.#, auth.*"));
        assertEquals(List.of(URI.create("amqp://guest:guest@mq1:5672/%2F"), URI.create("amqps://u:p@mq2:5671/prod")),
                c.busUrls());
        assertEquals(BusFormat.BATCH, c.busFormat());
        assertEquals("lc-topic", c.busExchange());
        assertEquals(List.of("shop.#", "auth.*"), c.busFleetPatterns());
    }

    @Test
    void shouldNameTheSettingWhenAUrlIsNotAmqp() {
        ConfigException e = assertThrows(ConfigException.class,
                () -> WeftConfig.load(new String[0], Map.of("WEFT_BUS_URL", "http://mq:5672")));
        assertTrue(e.getMessage().contains("bus.url") && e.getMessage().contains("not an amqp:// URL"), e.getMessage());
    }

    @Test
    void shouldListTheChoicesWhenFormatOrPolicyIsUnknown() {
        ConfigException e = assertThrows(ConfigException.class, () -> WeftConfig.load(new String[0],
                Map.of("WEFT_BUS_FORMAT", "json", "WEFT_BUS_POLICY", "keep")));
        assertTrue(e.getMessage().contains("expected one of contexture, batch"), e.getMessage());
        assertTrue(e.getMessage().contains("expected one of drop, spool"), e.getMessage());
    }

    @Test
    void shouldNameBothSidesWhenTheSpoolPolicyHasNoDirectory() {
        ConfigException e = assertThrows(ConfigException.class,
                () -> WeftConfig.load(new String[] {"--bus.policy=spool"}, Map.of()));
        assertTrue(e.getMessage().contains("bus.policy = spool (flag --bus.policy) needs spool.dir, which is off"),
                e.getMessage());
    }

    @Test
    void shouldRefuseReservedOrMalformedNamesWhenGivenAsExchangeOrFleetPatterns() {
        ConfigException amq = assertThrows(ConfigException.class,
                () -> WeftConfig.load(new String[0], Map.of("WEFT_BUS_EXCHANGE", "amq.topic")));
        assertTrue(amq.getMessage().contains("bus.exchange"), amq.getMessage());
        ConfigException fleet = assertThrows(ConfigException.class,
                () -> WeftConfig.load(new String[0], Map.of("WEFT_BUS_FLEET", "shop..#")));
        assertTrue(fleet.getMessage().contains("\"shop..#\" is not one"), fleet.getMessage());
    }
}
