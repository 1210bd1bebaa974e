package org.kvmsim.report;

import org.kvmsim.model.Vm;
import tech.tablesaw.api.LongColumn;
import tech.tablesaw.api.StringColumn;
import tech.tablesaw.api.Table;

/**
 * One factory per output table, so each table's name and columns live in one place. Column
 * names are snake_case and carry their unit; values are raw numbers.
 */
public final class Tables {

    private Tables() {}

    /** `show vms`: one row per declared VM. */
    public static final class VmsTable {
        private final StringColumn name = StringColumn.create("name");
        private final StringColumn host = StringColumn.create("host");
        private final LongColumn memory = LongColumn.create("memory_bytes");
        private final LongColumn vcpus = LongColumn.create("vcpus");
        private final StringColumn paging = StringColumn.create("paging");
        private final StringColumn backing = StringColumn.create("backing");
        private final StringColumn image = StringColumn.create("image");
        private final StringColumn state = StringColumn.create("state");
        private final LongColumn rss = LongColumn.create("rss_bytes");

        public void add(Vm vm, String vmState, long rssBytes) {
            name.append(vm.name());
            host.append(vm.host());
            memory.append(vm.memory());
            vcpus.append(vm.vcpus());
            paging.append(vm.paging().word());
            backing.append(vm.backing().toString());
            image.append(vm.image() == null ? "" : vm.image());
            state.append(vmState);
            rss.append(rssBytes);
        }

        public Table table() {
            return Table.create("vms", name, host, memory, vcpus, paging, backing, image, state, rss);
        }
    }
}
