package io.weft.sdk;

import com.google.protobuf.Value;
import io.weft.api.v1.AddOp;
import io.weft.api.v1.SetOp;
import io.weft.api.v1.StatsOp;
import io.weft.api.v1.StatsPath;

/**
 * One scalar's changes since the last flush: adds are summed and a set replaces what came before,
 * so any number of increments between two flushes costs one op on the wire.
 */
final class StatsCell implements Counter {
  private final StatsNamespace namespace;
  private final StatsPath path;
  // Guarded by this.
  private double delta;
  private boolean added;
  private Value setValue;
  private boolean dirty;

  StatsCell(StatsNamespace namespace, StatsPath path) {
    this.namespace = namespace;
    this.path = path;
  }

  @Override
  public void increment() {
    add(1);
  }

  @Override
  public void add(double d) {
    if (!namespace.enabled()) {
      return;
    }
    synchronized (this) {
      if (setValue != null && setValue.hasNumberValue()) {
        setValue = Value.newBuilder().setNumberValue(setValue.getNumberValue() + d).build();
      } else {
        delta += d;
        added = true;
      }
      markDirty();
    }
  }

  void set(Value v) {
    synchronized (this) {
      setValue = v;
      delta = 0;
      added = false;
      markDirty();
    }
  }

  /** Once per flush at most: queues this cell for the next drain of its namespace. */
  private void markDirty() {
    if (!dirty) {
      dirty = true;
      namespace.dirty(this);
    }
  }

  /** Moves the pending changes into {@code out} as ops and forgets them. */
  synchronized void drainTo(java.util.function.Consumer<StatsOp> out) {
    dirty = false;
    if (setValue != null) {
      out.accept(StatsOp.newBuilder().setNamespace(namespace.name())
          .setSet(SetOp.newBuilder().setPath(path).setValue(setValue)).build());
      setValue = null;
    }
    if (added) {
      out.accept(StatsOp.newBuilder().setNamespace(namespace.name())
          .setAdd(AddOp.newBuilder().setPath(path).setDelta(delta)).build());
      delta = 0;
      added = false;
    }
  }
}
