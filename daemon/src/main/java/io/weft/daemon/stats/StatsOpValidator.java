package io.weft.daemon.stats;

import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import io.weft.api.v1.ErrorReason;
import io.weft.api.v1.StatsOp;
import io.weft.api.v1.StatsPath;
import java.nio.charset.StandardCharsets;
import java.util.Map;

/**
 * Checks a stats op where it arrives (a gRPC thread), before it is queued: names, the 4-level shape
 * (a record holds scalars only: a struct or list in it would be a 5th level), value sizes, and
 * expressions, which are parsed here once.
 */
public final class StatsOpValidator {

    /** Longest namespace, entry, collection, record or value name, in bytes. */
    public static final int MAX_NAME_BYTES = 200;
    /** Most values in one record. */
    public static final int MAX_RECORD_FIELDS = 256;

    private final StatsLimits limits;

    public StatsOpValidator(StatsLimits limits) {
        this.limits = limits;
    }

    /** An op checked: its parsed expression (derive only), or why it is refused. */
    public record Checked(Expression expression, Rejection rejection) {
        static final Checked OK = new Checked(null, null);
    }

    /** Checks one op. */
    public Checked check(StatsOp op) {
        Rejection r = checkName("namespace", op.getNamespace());
        if (r != null) {
            return refuse(r);
        }
        String ns = op.getNamespace();
        switch (op.getOpCase()) {
            case ADD: {
                r = checkPath(op.getAdd().getPath(), true);
                if (r == null && !Double.isFinite(op.getAdd().getDelta())) {
                    r = Rejection.of(ErrorReason.ERROR_REASON_NOT_JSON, "add: delta must be a finite number");
                }
                return refuse(r);
            }
            case SET: {
                StatsPath p = op.getSet().getPath();
                r = checkPath(p, true);
                if (r == null) {
                    r = checkScalar(ns, p.getCollection(), p.getRecordKey(), p.getKey(), op.getSet().getValue());
                }
                return refuse(r);
            }
            case PUT: {
                r = checkName("put: collection", op.getPut().getCollection());
                if (r == null) {
                    r = checkName("put: record_key", op.getPut().getRecordKey());
                }
                if (r == null) {
                    r = checkRecord(ns, op.getPut().getCollection(), op.getPut().getRecordKey(), op.getPut().getRecord());
                }
                return refuse(r);
            }
            case APPEND: {
                r = checkName("append: collection", op.getAppend().getCollection());
                if (r == null && op.getAppend().getMaxLen() > limits.maxRecords()) {
                    r = Rejection.of(ErrorReason.ERROR_REASON_INVALID_ARGUMENT, "append: max_len "
                            + op.getAppend().getMaxLen() + " is more than stats.max-records (" + limits.maxRecords() + ")");
                }
                if (r == null) {
                    r = checkRecord(ns, op.getAppend().getCollection(), "(appended)", op.getAppend().getRecord());
                }
                return refuse(r);
            }
            case REMOVE:
                return refuse(checkRemove(op.getRemove().getPath()));
            case DERIVE:
                return checkDerive(op);
            default:
                return refuse(Rejection.of(ErrorReason.ERROR_REASON_INVALID_ARGUMENT,
                        "op: none of add, set, put, append, remove, derive is set"));
        }
    }

    private Checked checkDerive(StatsOp op) {
        String collection = op.getDerive().getCollection();
        Rejection r = checkName("derive: key", op.getDerive().getKey());
        if (r == null && !collection.isEmpty()) {
            r = checkName("derive: collection", collection);
        }
        if (r != null) {
            return refuse(r);
        }
        try {
            return new Checked(Expression.parse(op.getDerive().getExpression(), !collection.isEmpty()), null);
        } catch (ExpressionException e) {
            return refuse(new Rejection(ErrorReason.ERROR_REASON_BAD_EXPRESSION,
                    "derive '" + op.getDerive().getKey() + "': " + e.getMessage() + ": " + op.getDerive().getExpression(),
                    e.position()));
        }
    }

    private static Rejection checkPath(StatsPath p, boolean needsKey) {
        Rejection r = needsKey ? checkName("path.key", p.getKey()) : null;
        if (r == null && !p.getCollection().isEmpty()) {
            r = checkName("path.collection", p.getCollection());
            if (r == null) {
                r = checkName("path.record_key", p.getRecordKey());
            }
        } else if (r == null && !p.getRecordKey().isEmpty()) {
            r = Rejection.of(ErrorReason.ERROR_REASON_INVALID_ARGUMENT, "path.record_key needs path.collection");
        }
        return r;
    }

    private static Rejection checkRemove(StatsPath p) {
        if (p.getCollection().isEmpty()) {
            return checkPath(p, true);
        }
        Rejection r = checkName("path.collection", p.getCollection());
        if (r == null && !p.getRecordKey().isEmpty()) {
            r = checkName("path.record_key", p.getRecordKey());
        }
        if (r == null && !p.getKey().isEmpty()) {
            r = checkName("path.key", p.getKey());
        }
        if (r == null && p.getKey().isEmpty() && p.getRecordKey().isEmpty()) {
            r = Rejection.of(ErrorReason.ERROR_REASON_INVALID_ARGUMENT,
                    "remove: with a collection, name a record_key or a derived key (to remove the whole collection,"
                            + " give its name as key without collection)");
        }
        return r;
    }

    private Rejection checkRecord(String ns, String collection, String recordKey, Struct record) {
        if (record.getFieldsCount() > MAX_RECORD_FIELDS) {
            return Rejection.of(ErrorReason.ERROR_REASON_TOO_MANY_FIELDS, "record has " + record.getFieldsCount()
                    + " values; at most " + MAX_RECORD_FIELDS);
        }
        for (Map.Entry<String, Value> f : record.getFieldsMap().entrySet()) {
            Rejection r = checkName("record value name", f.getKey());
            if (r == null) {
                r = checkScalar(ns, collection, recordKey, f.getKey(), f.getValue());
            }
            if (r != null) {
                return r;
            }
        }
        return null;
    }

    private Rejection checkScalar(String ns, String collection, String recordKey, String key, Value v) {
        switch (v.getKindCase()) {
            case NUMBER_VALUE:
                return Double.isFinite(v.getNumberValue()) ? null
                        : Rejection.of(ErrorReason.ERROR_REASON_NOT_JSON, "'" + key + "': NaN and Infinity are not JSON");
            case STRING_VALUE:
                return v.getStringValue().getBytes(StandardCharsets.UTF_8).length <= limits.maxTextBytes() ? null
                        : Rejection.of(ErrorReason.ERROR_REASON_INVALID_ARGUMENT, "'" + key + "': a string longer than"
                                + " stats.max-text-bytes (" + limits.maxTextBytes() + ")");
            case BOOL_VALUE:
            case NULL_VALUE:
                return null;
            case STRUCT_VALUE:
            case LIST_VALUE: {
                String kind = v.getKindCase() == Value.KindCase.STRUCT_VALUE ? "a struct" : "a list";
                if (collection.isEmpty()) {
                    return Rejection.of(ErrorReason.ERROR_REASON_TOO_DEEP, "'" + ns + "' / '" + key + "' would hold "
                            + kind + "; a namespace entry is a scalar or a collection: use put or append for records");
                }
                return Rejection.of(ErrorReason.ERROR_REASON_TOO_DEEP, "statistics have 4 levels (namespace, collection,"
                        + " record, value): '" + ns + "' / '" + collection + "' / '" + recordKey + "' / '" + key
                        + "' would hold " + kind + ", a 5th level");
            }
            default:
                return Rejection.of(ErrorReason.ERROR_REASON_NOT_JSON, "'" + key + "': a value with no kind set");
        }
    }

    /** Why {@code name} is not a valid namespace name, or null when it is. */
    public static String checkNamespace(String name) {
        Rejection r = checkName("namespace", name);
        return r == null ? null : r.description();
    }

    private static Rejection checkName(String what, String name) {
        if (name.isEmpty()) {
            return Rejection.of(ErrorReason.ERROR_REASON_INVALID_ARGUMENT, what + " is empty");
        }
        if (name.length() > MAX_NAME_BYTES / 3 && name.getBytes(StandardCharsets.UTF_8).length > MAX_NAME_BYTES) {
            return Rejection.of(ErrorReason.ERROR_REASON_INVALID_ARGUMENT, what + " is longer than " + MAX_NAME_BYTES
                    + " bytes");
        }
        for (int i = 0; i < name.length(); i++) {
            if (Character.isISOControl(name.charAt(i))) {
                return Rejection.of(ErrorReason.ERROR_REASON_INVALID_ARGUMENT, what + " contains a control character");
            }
        }
        return null;
    }

    private static Checked refuse(Rejection r) {
        return r == null ? Checked.OK : new Checked(null, r);
    }
}
