package org.kvmsim.query;

import java.util.List;
import org.kvmsim.lang.ShowContext;
import org.kvmsim.lang.Syntax;

/** `VM[.PAGETABLE] GVA`: what show walk and show translate look up. */
record VmAddress(ShowContext.Subject subject, long address) {

    static VmAddress check(String what, List<Syntax.Atom> args, ShowContext c) {
        if (args.size() != 2) {
            c.error(c.statement(), "show " + what + " takes a VM (or VM.PAGETABLE) and an address: show "
                    + what + " guest1 0x7f00_0000_1000");
            return null;
        }
        ShowContext.Subject subject = c.subject(args.get(0), what);
        Long address = c.address(args.get(1), "show " + what);
        return subject == null || address == null ? null : new VmAddress(subject, address);
    }
}
