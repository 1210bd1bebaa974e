package org.kvmsim.pages;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * A small case folder as tools/realguest writes one: 2 guests of 4 MiB (1024 pages), a BIOS
 * block and an ACPI tables block, two dumps each, 20 s apart.
 */
public final class RecorderCase {
    public static final int RAM = 1024;
    public static final int ABSENT_PAGE = 900;
    public static final int ZERO_MAPPED_PAGE = 901;
    public static final int CHANGING_PAGE = 700;

    private RecorderCase() {}

    public static Path write(Path dir) throws IOException {
        Files.createDirectories(dir);
        Files.writeString(dir.resolve("case.json"), """
                {"guests": 2, "memory_mib": 4,
                 "ramblocks": [{"name": "pc.ram", "size_bytes": 4194304, "gpa_ranges": [[0, 0, 655360], [1048576, 1048576, 3145728]]},
                               {"name": "pc.bios", "size_bytes": 16384, "gpa_ranges": [[4294950912, 0, 16384]]},
                               {"name": "/rom@etc/acpi/tables", "size_bytes": 8192, "gpa_ranges": []}],
                 "dumps": [{"guest": 0, "tag": "early", "seconds_since_boot": 10, "ksm_full_scans_at_dump": 0},
                           {"guest": 1, "tag": "early", "seconds_since_boot": 10, "ksm_full_scans_at_dump": 0},
                           {"guest": 0, "tag": "late", "seconds_since_boot": 30, "ksm_full_scans_at_dump": 5},
                           {"guest": 1, "tag": "late", "seconds_since_boot": 30, "ksm_full_scans_at_dump": 5}]}
                """);
        for (int g = 0; g < 2; g++) {
            for (String tag : new String[] {"early", "late"}) {
                Path d = dir.resolve("g" + g + "-" + tag);
                Files.createDirectories(d);
                int[] tags = new int[RAM];
                byte[] map = new byte[RAM];
                for (int p = 0; p < RAM; p++) {
                    // 0-511 one THP (shared kernel text, then zeroes); 512-699 shared; 700-799 the
                    // guest's own; 800-899 zero; 900 not present; 901 the zero page; the rest absent
                    map[p] = 1;
                    if (p < 300) tags[p] = 10 + p;
                    else if (p < 512) tags[p] = 0;
                    else if (p < 700) tags[p] = 10 + p;
                    else if (p < 800) tags[p] = 5000 + 1000 * g + p;
                    else if (p < 900) tags[p] = 0;
                    else map[p] = p == 901 ? (byte) 2 : 0;
                    if (p < 512) map[p] |= 0x10;
                }
                if (tag.equals("late")) tags[CHANGING_PAGE] = 90000 + g;
                Files.write(d.resolve("pc.ram.bin"), Dumps.pages(tags));
                Files.write(d.resolve("pc.ram.pagemap"), map);
                Files.write(d.resolve("pc.bios.bin"), Dumps.pages(3, 4, 0, 5));
                Files.write(d.resolve("pc.bios.pagemap"), new byte[] {1, 1, 1, 0});
                Files.write(d.resolve("rom@etc_acpi_tables.bin"), Dumps.pages(6, 7));
                Files.write(d.resolve("rom@etc_acpi_tables.pagemap"), new byte[] {1, 1});
            }
        }
        return dir;
    }
}
