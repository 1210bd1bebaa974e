package org.kvmsim.kernel;

import java.lang.reflect.Field;
import java.text.DateFormat;
import java.text.SimpleDateFormat;
import java.util.Locale;
import java.util.TimeZone;
import org.dflib.jjava.jupyter.messages.KernelTimestamp;

/**
 * The base library writes every header's {@code date} to the minute ({@code
 * yyyy-MM-dd'T'HH:mmZ}, one formatter per thread), so front ends that time cells from header
 * dates (JupyterLab's "record timing", execution-time extensions) see minutes. A thread that
 * sends messages calls {@link #useMilliseconds} once to give its formatter millisecond ISO 8601
 * in UTC. The library never parses a date, only formats it. If a later library version
 * changes the field, this does nothing and dates stay as the library writes them.
 */
final class Timestamps {

    private Timestamps() {}

    @SuppressWarnings("unchecked")
    static void useMilliseconds() {
        try {
            Field f = KernelTimestamp.class.getDeclaredField("DATE_FORMAT");
            f.setAccessible(true);
            SimpleDateFormat format = new SimpleDateFormat("yyyy-MM-dd'T'HH:mm:ss.SSSXXX", Locale.ROOT);
            format.setTimeZone(TimeZone.getTimeZone("UTC"));
            ((ThreadLocal<DateFormat>) f.get(null)).set(format);
        } catch (ReflectiveOperationException | RuntimeException e) {
            KernelLog.warn("message dates stay at minute resolution: " + e);
        }
    }
}
