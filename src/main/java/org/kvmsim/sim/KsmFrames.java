package org.kvmsim.sim;

import org.kvmsim.sim.hugetlb.ThpMapping;
import org.kvmsim.sim.ksm.Ksmd;
import org.kvmsim.sim.ksm.KsmListener;
import org.kvmsim.sim.mem.HostMemory;

/**
 * Host frames follow ksmd (mm/ksm.c): a page merged into a KSM page maps the KSM page's frame
 * and its own is freed (replace_page(); a THP around it is split first, as
 * try_to_merge_one_page() does, so AnonHugePages drops); the first page of a new KSM page
 * becomes it (try_to_merge_two_pages(): here its frame is freed and the KSM page takes a
 * fresh one on the same node, the same counts); a page merged with the zero page maps the
 * kernel's zero page, which has no frame of its own and is not anonymous memory. A KSM page
 * counts once in AnonPages (one folio in NR_ANON_MAPPED) and its frame is freed with its last
 * mapping. Every change of a page's frame zaps its nested entry and flushes the VM's TLBs
 * (KVM's MMU notifier), so translations pick up the new frame.
 */
final class KsmFrames implements KsmListener {
    private final Engine e;
    private final HostState h;

    KsmFrames(Engine e, HostState h) {
        this.e = e;
        this.h = h;
    }

    @Override
    public void kpageCreated(int kpage) {
        h.growKpages(kpage);
        h.kpageFrame[kpage] = 0;
    }

    @Override
    public void merged(int slot, int page, int kpage) {
        VmState v = h.ksmVms.get(slot);
        // try_to_merge_one_page() splits a THP first, which maps its zero-filled subpages to the zero page
        v.anon.splitForMerge(page);
        if (kpage == ZERO_PAGE) {
            v.anon.replace(page, h.zeroFrame);
            v.ksmZeroMapped++;
        } else if (h.kpageFrame[kpage] == 0) {
            int own = v.anon.unmap(page);
            int f = h.mem.alloc(0, own < 0 ? 0 : h.mem.nodeOf(own));
            if (f < 0) throw new IllegalStateException("no frame for a KSM page right after freeing one");
            h.mem.add(HostMemory.Counter.ANON_PAGES, 1);
            h.kpageFrame[kpage] = f + 1;
            v.anon.replace(page, f);
        } else {
            v.anon.replace(page, h.kpageFrame[kpage] - 1);
        }
        if (v.mmu != null && v.isRam(page)) v.mmu.invalidateHostPage(v.slots.gpaPage(page) << 12);
    }

    @Override
    public boolean splitFailsOnMerge(int slot, int page, int treeSlot, int treePage) {
        if (slot != treeSlot || (page >>> 9) != (treePage >>> 9)) return false;
        VmState v = h.ksmVms.get(slot);
        if (!v.anon.isHuge(page)) return false;
        h.mem.count(HostMemory.Event.THP_SPLIT_PAGE_FAILED);
        // cmp_and_merge_page(): put_page(tree_page), then split_huge_page(page) with no merge
        v.anon.splitUnmerged(page);
        if (v.mmu != null && v.isRam(page)) v.mmu.invalidateHostPage(v.slots.gpaPage(page) << 12);
        return true;
    }

    @Override
    public void kpageFreed(int kpage) {
        int f = h.kpageFrame[kpage] - 1;
        if (f < 0) throw new IllegalStateException("KSM page " + kpage + " has no frame");
        h.kpageFrame[kpage] = 0;
        h.mem.free(f, 0);
        h.mem.add(HostMemory.Counter.ANON_PAGES, -1);
    }

    @Override
    public void unmerged(int slot, int page) {
        VmState v = h.ksmVms.get(slot);
        if (!v.running()) return; // the OOM killer took it during this unmerge
        if (v.anon.frameOf(page) == h.zeroFrame) v.ksmZeroMapped--;
        e.guest.newPrivateFrame(v, page);
    }

    /**
     * What khugepaged sees of a VM's pages that map a KSM page or the zero page: the zero page
     * counts as none, a KSM page mapped elsewhere too as shared. A collapse copies such a page
     * into the THP and drops the mapping as a copy-on-write break does (Ksmd.onWrite: the KSM
     * page loses a mapping and is freed with its last; ksmd finds the page un-merged at its next
     * visit and may split the THP to merge it again).
     */
    ThpMapping.ForeignPages foreignPages(VmState v) {
        ThpMapping anon = v.anon;
        int slot = v.ksmSlot;
        return new ThpMapping.ForeignPages() {
            @Override
            public boolean isZero(long page) {
                return anon.frameOf(page) == h.zeroFrame;
            }

            @Override
            public boolean isShared(long page) {
                return h.ksmd.mapsSharedKsmPage(slot, (int) page);
            }

            @Override
            public void dropped(long page) {
                if (h.ksmd.onWrite(slot, (int) page) == Ksmd.Cow.ZERO_PAGE) v.ksmZeroMapped--;
            }
        };
    }
}
