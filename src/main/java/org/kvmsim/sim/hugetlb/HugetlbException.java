package org.kvmsim.sim.hugetlb;

/** A hugetlb mmap that the kernel refuses: ENOMEM, "Cannot allocate memory". */
public final class HugetlbException extends Exception {
    /** strerror(ENOMEM). */
    public static final String ENOMEM = "Cannot allocate memory";
    /**
     * What QEMU reports when it cannot mmap file-backed (hugetlbfs) guest RAM: file_ram_alloc() in
     * system/physmem.c, error_setg_errno(errp, errno, "unable to map backing store for guest RAM").
     */
    public static final String QEMU_MAP_FAILED = "unable to map backing store for guest RAM: " + ENOMEM;

    public HugetlbException(String message) {
        super(message);
    }
}
