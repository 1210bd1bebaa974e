package org.kvmsim.session;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import tech.tablesaw.api.DoubleColumn;
import tech.tablesaw.api.LongColumn;
import tech.tablesaw.api.StringColumn;
import tech.tablesaw.api.Table;
import tech.tablesaw.columns.Column;

/**
 * The bytes a sweep value's result travels in from a task on another machine: tables with their
 * raw values (a double as its 64 bits, so the rendering on the driver is the one the task would
 * have printed), strings as UTF-8 of any length. Tablesaw's tables are not Serializable, and
 * kvmsim's tables have only long, double and string columns (the query classes make no others);
 * another column type is a bug of ours and fails loudly here.
 */
final class Wire {

    private Wire() {}

    static final class Writer {
        private final ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        private final DataOutputStream out = new DataOutputStream(bytes);

        Writer string(String s) {
            try {
                if (s == null) {
                    out.writeInt(-1);
                } else {
                    byte[] b = s.getBytes(StandardCharsets.UTF_8);
                    out.writeInt(b.length);
                    out.write(b);
                }
                return this;
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }

        Writer bytes(byte[] b) {
            try {
                out.writeInt(b.length);
                out.write(b);
                return this;
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }

        Writer integer(int v) {
            try {
                out.writeInt(v);
                return this;
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }

        Writer table(Table t) {
            string(t.name()).integer(t.columnCount()).integer(t.rowCount());
            try {
                for (Column<?> c : t.columns()) {
                    string(c.name());
                    if (c instanceof LongColumn l) {
                        out.writeByte('L');
                        for (int i = 0; i < l.size(); i++) out.writeLong(l.getLong(i));
                    } else if (c instanceof DoubleColumn d) {
                        out.writeByte('D');
                        for (int i = 0; i < d.size(); i++) out.writeLong(Double.doubleToRawLongBits(d.getDouble(i)));
                    } else if (c instanceof StringColumn s) {
                        out.writeByte('S');
                        for (int i = 0; i < s.size(); i++) string(s.get(i));
                    } else {
                        throw new IllegalStateException("no wire form for column " + c.name() + " of type " + c.type());
                    }
                }
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            return this;
        }

        byte[] done() {
            return bytes.toByteArray();
        }
    }

    static final class Reader {
        private final DataInputStream in;

        Reader(byte[] b) {
            in = new DataInputStream(new ByteArrayInputStream(b));
        }

        String string() {
            try {
                int n = in.readInt();
                if (n < 0) return null;
                return new String(in.readNBytes(n), StandardCharsets.UTF_8);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }

        byte[] bytes() {
            try {
                return in.readNBytes(in.readInt());
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }

        int integer() {
            try {
                return in.readInt();
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }

        Table table() {
            try {
                Table t = Table.create(string());
                int cols = integer(), rows = integer();
                for (int c = 0; c < cols; c++) {
                    String name = string();
                    int type = in.readByte();
                    if (type == 'L') {
                        long[] v = new long[rows];
                        for (int i = 0; i < rows; i++) v[i] = in.readLong();
                        t.addColumns(LongColumn.create(name, v));
                    } else if (type == 'D') {
                        double[] v = new double[rows];
                        for (int i = 0; i < rows; i++) v[i] = Double.longBitsToDouble(in.readLong());
                        t.addColumns(DoubleColumn.create(name, v));
                    } else if (type == 'S') {
                        List<String> v = new ArrayList<>(rows);
                        for (int i = 0; i < rows; i++) v.add(string());
                        t.addColumns(StringColumn.create(name, v));
                    } else {
                        throw new IllegalStateException("bad column type " + type + " on the wire");
                    }
                }
                return t;
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
    }

    /** The tables, in order, as one blob. */
    static byte[] tables(List<Table> tables) {
        Writer w = new Writer().integer(tables.size());
        for (Table t : tables) w.table(t);
        return w.done();
    }

    static List<Table> tables(byte[] blob) {
        Reader r = new Reader(blob);
        int n = r.integer();
        List<Table> out = new ArrayList<>(n);
        for (int i = 0; i < n; i++) out.add(r.table());
        return out;
    }
}
