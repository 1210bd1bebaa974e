package org.kvmsim.model;

import java.util.Locale;

/**
 * QEMU's x86 machine type: where guest RAM sits in guest-physical memory. {@code pc} (i440FX +
 * PIIX, QEMU's default for qemu-system-x86_64) keeps up to 3.5 GiB of RAM below 4 GiB and, for
 * larger guests, 3 GiB below and the rest from 4 GiB up (hw/i386/pc_piix.c, gigabyte_align);
 * {@code q35} (Q35 + ICH9) keeps up to 2.75 GiB below and, for larger guests, 2 GiB below
 * (hw/i386/pc_q35.c). Both put the VGA window and ROM area at 0xa0000-0xfffff.
 */
public enum Machine {
    PC, Q35;

    public String word() {
        return name().toLowerCase(Locale.ROOT);
    }

    public static Machine of(String word) {
        return valueOf(word.toUpperCase(Locale.ROOT));
    }
}
