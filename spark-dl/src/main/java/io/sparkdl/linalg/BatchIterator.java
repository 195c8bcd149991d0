package io.sparkdl.linalg;

import org.apache.spark.sql.Row;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;

/**
 * Pulls a partition's rows in batches, hands each batch to a function (one matrix product or forward pass
 * per batch) and returns the resulting rows one by one, so a partition is never held in memory whole.
 */
public final class BatchIterator implements Iterator<Row> {
    /** Turns one batch of input rows into output rows (same count and order). */
    @FunctionalInterface
    public interface BatchFn extends Serializable {
        List<Row> apply(List<Row> batch);
    }

    private final Iterator<Row> rows;
    private final int size;
    private final BatchFn fn;
    private List<Row> ready = List.of();
    private int pos;

    public BatchIterator(Iterator<Row> rows, int size, BatchFn fn) {
        this.rows = rows;
        this.size = size;
        this.fn = fn;
    }

    @Override
    public boolean hasNext() {
        while (pos >= ready.size()) {
            if (!rows.hasNext()) {
                return false;
            }
            List<Row> batch = new ArrayList<>(size);
            while (rows.hasNext() && batch.size() < size) {
                batch.add(rows.next());
            }
            ready = fn.apply(batch);
            pos = 0;
        }
        return true;
    }

    @Override
    public Row next() {
        if (!hasNext()) {
            throw new java.util.NoSuchElementException();
        }
        return ready.get(pos++);
    }

    /** A copy of {@code r}'s values with {@code extra} appended. */
    public static Row append(Row r, int n, Object... extra) {
        Object[] v = new Object[n + extra.length];
        for (int c = 0; c < n; c++) {
            v[c] = r.get(c);
        }
        System.arraycopy(extra, 0, v, n, extra.length);
        return org.apache.spark.sql.RowFactory.create(v);
    }
}
