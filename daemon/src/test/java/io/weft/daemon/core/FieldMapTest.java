package io.weft.daemon.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;

import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class FieldMapTest {

    private final Interner<String> names = new Interner<>(1000);

    @Test
    void shouldKeepInsertionOrderAndReplaceInPlaceWhenKeyExists() {
        FieldMap m = new FieldMap();
        m.put("b", num(1), names);
        m.put("a", num(2), names);
        m.put("b", num(3), names);

        Struct s = m.toStruct();
        assertEquals(List.of("b", "a"), new ArrayList<>(s.getFieldsMap().keySet()));
        assertEquals(3, s.getFieldsOrThrow("b").getNumberValue());
    }

    @Test
    void shouldRemoveAndKeepOrderWhenGrownPastTheIndexThreshold() {
        FieldMap m = new FieldMap();
        int n = FieldMap.INDEX_THRESHOLD + 10;
        for (int i = 0; i < n; i++) {
            m.put("f" + i, num(i), names);
        }
        m.remove("f3");
        m.put("f20", num(-1), names);
        m.putIfAbsent("f5", num(99), names);
        for (int i = 0; i < n - FieldMap.INDEX_THRESHOLD; i++) {
            m.remove("f" + (n - 1 - i));
        }

        Struct s = m.toStruct();
        assertEquals(FieldMap.INDEX_THRESHOLD - 1, m.size());
        assertEquals(5, s.getFieldsOrThrow("f5").getNumberValue());
        assertEquals(List.of("f0", "f1", "f2", "f4"), new ArrayList<>(s.getFieldsMap().keySet()).subList(0, 4));
    }

    @Test
    void shouldShareNamesBetweenObjectsWhenInterned() {
        FieldMap a = new FieldMap();
        FieldMap b = new FieldMap();
        a.put(new String("status"), num(1), names);
        b.put(new String("status"), num(2), names);

        String ka = a.toStruct().getFieldsMap().keySet().iterator().next();
        String kb = b.toStruct().getFieldsMap().keySet().iterator().next();
        assertSame(names.intern("status"), ka);
        assertSame(ka, kb);
    }

    private static Value num(double d) {
        return Value.newBuilder().setNumberValue(d).build();
    }
}
