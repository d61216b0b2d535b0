package io.weft.daemon.view;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Struct;
import com.google.protobuf.util.JsonFormat;
import io.weft.api.v1.Projection;
import java.util.List;
import org.junit.jupiter.api.Test;

class ProjectorTest {

    /** The real message from Contexture's README, section "-k, --keys". */
    private static final String README_MESSAGE = "{\"status\": \"finished\", \"obj\": {\"elapsed\": 2.7338700294494629},"
            + " \"id\": \"c529c182-62b8-49db-a0aa-2ba4cc991af2\", \"handler_id\": \"76bb5a4e-34b7-43a0-8ffc-19e448d33ea0\","
            + " \"elapsed\": 1.1670801639556885, \"queue\": 0, \"time_in\": 1360720859.8556099,"
            + " \"time_out\": 1360720861.0226901}";

    @Test
    void shouldBeIdentityWhenTheProjectionIsEmpty() {
        Projector p = Projector.compile(Projection.getDefaultInstance());
        assertTrue(p.isIdentity());
        Struct s = json("{\"a\": 1}");
        assertSame(s, p.apply(s));
    }

    @Test
    void shouldNotBeIdentityWhenAnyRuleIsGiven() {
        assertFalse(Projector.compile(Projection.newBuilder().addKeys("a").build()).isIdentity());
        assertFalse(Projector.compile(Projection.newBuilder().addTrim("a").build()).isIdentity());
        assertFalse(Projector.compile(Projection.newBuilder().setDropEmpty(true).build()).isIdentity());
    }

    @Test
    void shouldTakeTheTopLevelMatchWhenAPlainKeyOccursTwice() {
        assertEquals(json("{\"elapsed\": 1.1670801639556885}"), keys(README_MESSAGE, "elapsed"));
    }

    @Test
    void shouldTakeEveryMatchInBreadthFirstOrderWhenTheKeyIsStarred() {
        assertEquals(json("{\"elapsed\": [1.1670801639556885, 2.7338700294494629]}"),
                keys(README_MESSAGE, "*elapsed"));
    }

    @Test
    void shouldPreferShallowMatchesWhenADeepOneComesFirst() {
        String doc = "{\"a\": {\"b\": {\"x\": 3}}, \"c\": {\"x\": 2}, \"d\": [{\"x\": 4}]}";
        assertEquals(json("{\"x\": 2}"), keys(doc, "x"));
        assertEquals(json("{\"x\": [2, 3, 4]}"), keys(doc, "*x"));
    }

    @Test
    void shouldSearchInsideListsWhenObjectsAreNestedInThem() {
        String doc = "{\"items\": [[{\"id\": 1}], {\"id\": 2}]}";
        assertEquals(json("{\"id\": 2}"), keys(doc, "id"));
        assertEquals(json("{\"id\": [2, 1]}"), keys(doc, "*id"));
    }

    @Test
    void shouldKeepKeysInRequestOrderAndOmitAbsentOnesWhenExtracting() {
        Struct out = keys("{\"a\": 1, \"b\": 2, \"c\": 3}", "c", "missing", "*missing", "a");
        assertEquals(List.of("c", "a"), List.copyOf(out.getFieldsMap().keySet()));
    }

    @Test
    void shouldReturnAStructAsIsWhenTheMatchIsAnObject() {
        assertEquals(json("{\"obj\": {\"elapsed\": 2.7338700294494629}}"), keys(README_MESSAGE, "obj"));
    }

    @Test
    void shouldRemoveKeysAtEveryDepthWhenTrimming() {
        Projector p = Projector.compile(Projection.newBuilder().addTrim("secret").build());
        Struct in = json("{\"secret\": 1, \"a\": {\"secret\": 2, \"b\": 3}, \"l\": [{\"secret\": 4, \"c\": 5}, 6]}");
        assertEquals(json("{\"a\": {\"b\": 3}, \"l\": [{\"c\": 5}, 6]}"), p.apply(in));
    }

    @Test
    void shouldReturnTheSameInstanceWhenTrimRemovesNothing() {
        Projector p = Projector.compile(Projection.newBuilder().addTrim("secret").build());
        Struct in = json("{\"a\": {\"b\": 3}, \"l\": [{\"c\": 5}]}");
        assertSame(in, p.apply(in));
    }

    @Test
    void shouldTrimBeforeExtractingWhenBothAreGiven() {
        Projector p = Projector.compile(Projection.newBuilder().addTrim("obj").addKeys("*elapsed").build());
        assertEquals(json("{\"elapsed\": [1.1670801639556885]}"), p.apply(json(README_MESSAGE)));
    }

    @Test
    void shouldDropEmptyValuesRecursivelyWhenDropEmptyIsSet() {
        Projector p = Projector.compile(Projection.newBuilder().setDropEmpty(true).build());
        Struct in = json("{\"n\": null, \"s\": \"\", \"l\": [], \"o\": {}, \"zero\": 0, \"f\": false, \"keep\": \"x\","
                + " \"nested\": {\"gone\": {\"n\": null, \"l\": [null, \"\"]}, \"k\": 1},"
                + " \"list\": [null, 1, {}, [\"\"], \"y\"]}");
        assertEquals(json("{\"zero\": 0, \"f\": false, \"keep\": \"x\", \"nested\": {\"k\": 1}, \"list\": [1, \"y\"]}"),
                p.apply(in));
    }

    @Test
    void shouldDropEmptyAfterExtractingWhenBothAreGiven() {
        Projector p = Projector.compile(Projection.newBuilder().addKeys("a").addKeys("b").setDropEmpty(true).build());
        assertEquals(json("{\"b\": 1}"), p.apply(json("{\"a\": \"\", \"b\": 1}")));
    }

    @Test
    void shouldReturnTheSameInstanceWhenNothingIsEmpty() {
        Projector p = Projector.compile(Projection.newBuilder().setDropEmpty(true).build());
        Struct in = json("{\"a\": {\"b\": [1]}}");
        assertSame(in, p.apply(in));
    }

    private static Struct keys(String doc, String... keys) {
        return Projector.compile(Projection.newBuilder().addAllKeys(List.of(keys)).build()).apply(json(doc));
    }

    private static Struct json(String text) {
        Struct.Builder b = Struct.newBuilder();
        try {
            JsonFormat.parser().merge(text, b);
        } catch (InvalidProtocolBufferException e) {
            throw new AssertionError(e);
        }
        return b.build();
    }
}
