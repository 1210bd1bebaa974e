package org.kvmsim.lang.libvirt;

import java.util.ArrayList;
import java.util.List;
import org.kvmsim.model.Backing;
import org.kvmsim.model.ByteSize;
import org.kvmsim.model.Machine;
import org.kvmsim.model.Paging;
import org.kvmsim.model.Vm;

/**
 * A VM as the kvmsim declaration that makes it: memory always, every other attribute where it
 * differs from the language's default, so a user sees exactly what an import understood.
 */
public final class VmText {

    private VmText() {}

    /**
     * What an import understood: each warning as a comment naming {@code shownFile}, then the
     * declaration (`kvmsim import libvirt` prints this).
     */
    public static String imported(String shownFile, DomainImport.Result r) {
        StringBuilder b = new StringBuilder();
        for (DomainImport.Warning w : r.warnings()) {
            b.append("# warning: ").append(shownFile).append(':').append(w.line()).append(':').append(w.column())
                    .append(": ").append(w.message()).append('\n');
        }
        return b.append(of(r.vm())).toString();
    }

    public static String of(Vm vm) {
        List<String> a = new ArrayList<>();
        a.add("memory = " + new ByteSize(vm.memory()));
        if (vm.vcpus() != 1) a.add("vcpus = " + vm.vcpus());
        if (vm.paging() != Paging.EPT) a.add("paging = " + vm.paging().word());
        if (vm.backing().kind() != Backing.Kind.ANONYMOUS) a.add("backing = " + vm.backing());
        if (vm.image() != null) a.add("image = " + vm.image());
        if (vm.levels() != 4) a.add("levels = " + vm.levels());
        if (vm.prealloc()) a.add("prealloc = on");
        if (!vm.reserve()) a.add("reserve = off");
        if (!vm.memMerge()) a.add("mem_merge = off");
        if (vm.node() != 0) a.add("node = " + vm.node());
        if (vm.guestThp()) a.add("guest_thp = always");
        if (vm.cpuset() != null) a.add("cpuset = \"" + vm.cpuset() + "\"");
        if (!vm.vcpupin().isEmpty()) {
            a.add("vcpupin = [" + String.join(", ", vm.vcpupin().stream().map(c -> "\"" + c + "\"").toList()) + "]");
        }
        if (!vm.pvTlbFlush()) a.add("pv_tlb_flush = off");
        if (!vm.pcid()) a.add("pcid = off");
        if (vm.machine() != Machine.PC) a.add("machine = " + vm.machine().word());
        StringBuilder b = new StringBuilder("vm ").append(vm.name()).append(" on ").append(vm.host()).append(" {\n");
        for (String s : a) b.append("  ").append(s).append('\n');
        return b.append("}\n").toString();
    }
}
