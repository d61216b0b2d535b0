package io.weft.daemon.stats;

import com.google.protobuf.NullValue;
import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import io.weft.api.v1.AddOp;
import io.weft.api.v1.AppendOp;
import io.weft.api.v1.DeriveOp;
import io.weft.api.v1.PutOp;
import io.weft.api.v1.RemoveOp;
import io.weft.api.v1.SetOp;
import io.weft.api.v1.StatsOp;
import io.weft.api.v1.StatsPath;
import java.util.Map;

/** Builders of stats ops for tests. */
final class Ops {

    private Ops() {
    }

    static StatsPath key(String key) {
        return StatsPath.newBuilder().setKey(key).build();
    }

    static StatsPath recordKey(String collection, String record, String key) {
        return StatsPath.newBuilder().setCollection(collection).setRecordKey(record).setKey(key).build();
    }

    static StatsOp add(String ns, String key, double delta) {
        return add(ns, key(key), delta);
    }

    static StatsOp add(String ns, StatsPath path, double delta) {
        return StatsOp.newBuilder().setNamespace(ns).setAdd(AddOp.newBuilder().setPath(path).setDelta(delta)).build();
    }

    static StatsOp set(String ns, String key, Object value) {
        return set(ns, key(key), value);
    }

    static StatsOp set(String ns, StatsPath path, Object value) {
        return StatsOp.newBuilder().setNamespace(ns).setSet(SetOp.newBuilder().setPath(path).setValue(value(value)))
                .build();
    }

    static StatsOp put(String ns, String collection, String record, Map<String, ?> fields) {
        return StatsOp.newBuilder().setNamespace(ns).setPut(PutOp.newBuilder().setCollection(collection)
                .setRecordKey(record).setRecord(struct(fields))).build();
    }

    static StatsOp append(String ns, String collection, Map<String, ?> fields, int maxLen) {
        return StatsOp.newBuilder().setNamespace(ns).setAppend(AppendOp.newBuilder().setCollection(collection)
                .setRecord(struct(fields)).setMaxLen(maxLen)).build();
    }

    static StatsOp remove(String ns, StatsPath path) {
        return StatsOp.newBuilder().setNamespace(ns).setRemove(RemoveOp.newBuilder().setPath(path)).build();
    }

    static StatsOp derive(String ns, String collection, String key, String expression) {
        return StatsOp.newBuilder().setNamespace(ns).setDerive(DeriveOp.newBuilder().setCollection(collection)
                .setKey(key).setExpression(expression)).build();
    }

    static Struct struct(Map<String, ?> fields) {
        Struct.Builder b = Struct.newBuilder();
        fields.forEach((k, v) -> b.putFields(k, value(v)));
        return b.build();
    }

    static Value value(Object v) {
        if (v == null) {
            return Value.newBuilder().setNullValue(NullValue.NULL_VALUE).build();
        }
        if (v instanceof Value val) {
            return val;
        }
        if (v instanceof Number n) {
            return Value.newBuilder().setNumberValue(n.doubleValue()).build();
        }
        if (v instanceof Boolean b) {
            return Value.newBuilder().setBoolValue(b).build();
        }
        if (v instanceof Map<?, ?> m) {
            @SuppressWarnings("unchecked")
            Map<String, ?> sm = (Map<String, ?>) m;
            return Value.newBuilder().setStructValue(struct(sm)).build();
        }
        return Value.newBuilder().setStringValue(v.toString()).build();
    }
}
