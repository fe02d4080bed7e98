package dev.merv.core.weights.torch;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.merv.core.weights.WeightFormatException;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import java.util.zip.CRC32;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Every hostile file is refused at open with a {@link WeightFormatException} naming the file and the
 * fragment {@code hostile/expected.json} gives (the forbidden global, the opcode, the bound that was
 * hit). The timeout is the acceptance bound "well under a minute" for all of them together, not a
 * performance measurement: a reader that allocated what a size field claims, or walked a memo bomb,
 * would run out of memory or time instead.
 */
@Timeout(60)
class TorchCheckpointHostileTest {

    @TempDir
    Path dir;

    @Test
    void everyHostileFileIsRefusedNamingWhatIsWrong() throws IOException {
        Map<String, com.google.gson.JsonElement> expected = TorchSaveFiles.hostileExpectations().asMap();
        List<String> files;
        try (Stream<Path> s = Files.list(TorchSaveFiles.hostileDir())) {
            files = new ArrayList<>(s.map(p -> p.getFileName().toString()).filter(n -> !n.equals("expected.json")).sorted().toList());
        }
        assertThat(files).as("every hostile file has an expectation").containsExactlyInAnyOrderElementsOf(expected.keySet());
        for (String name : files) {
            Path f = TorchSaveFiles.hostileDir().resolve(name);
            String fragment = expected.get(name).getAsString();
            assertThatThrownBy(() -> TorchCheckpoint.open(f).close()).as(name)
                    .isInstanceOf(WeightFormatException.class)
                    .hasMessageContaining(f.toString())
                    .hasMessageContaining(fragment);
        }
    }

    @Test
    void forbiddenGlobalsAreNamedWithTheRecord() {
        Path f = TorchSaveFiles.hostileDir().resolve("global-os-system.pt");
        assertThatThrownBy(() -> TorchCheckpoint.open(f)).isInstanceOf(WeightFormatException.class)
                .hasMessageContaining("record 'archive/data.pkl'").hasMessageContaining("GLOBAL")
                .hasMessageContaining("global os.system is not allowed");
    }

    @Test
    void sizeBombsNameTheTensorAndItsStorageRecord() {
        Path f = TorchSaveFiles.hostileDir().resolve("size-bomb.pt");
        assertThatThrownBy(() -> TorchCheckpoint.open(f)).isInstanceOf(WeightFormatException.class)
                .hasMessageContaining("[tensor 'w']").hasMessageContaining("1099511627775")
                .hasMessageContaining("past its storage of 2 elements").hasMessageContaining("archive/data/0");
    }

    /** A zip with one stored data.pkl record holding {@code pickle}. */
    private Path zipWith(String name, byte[] pickle) throws IOException {
        Path f = dir.resolve(name);
        try (ZipOutputStream z = new ZipOutputStream(Files.newOutputStream(f))) {
            ZipEntry e = new ZipEntry("x/data.pkl");
            e.setMethod(ZipEntry.STORED);
            e.setSize(pickle.length);
            CRC32 crc = new CRC32();
            crc.update(pickle);
            e.setCrc(crc.getValue());
            z.putNextEntry(e);
            z.write(pickle);
            z.closeEntry();
        }
        return f;
    }

    @Test
    void hugeStacksAndMemosStopAtTheirCaps() throws IOException {
        // a million MARKs, a million list pushes, and millions of memo puts: each refused at its cap
        ByteArrayOutputStream marks = new ByteArrayOutputStream();
        marks.write(new byte[] {(byte) 0x80, 2});
        for (int i = 0; i < 1_000_000; i++) {
            marks.write('(');
        }
        assertThatThrownBy(() -> TorchCheckpoint.open(zipWith("marks.pt", marks.toByteArray())))
                .isInstanceOf(WeightFormatException.class).hasMessageContaining("nested MARK");
        ByteArrayOutputStream pushes = new ByteArrayOutputStream();
        pushes.write(new byte[] {(byte) 0x80, 2});
        for (int i = 0; i < WeightsUnpickler.MAX_STACK + 5; i++) {
            pushes.write('N');
        }
        assertThatThrownBy(() -> TorchCheckpoint.open(zipWith("stack.pt", pushes.toByteArray())))
                .isInstanceOf(WeightFormatException.class).hasMessageContaining("value stack over");
        ByteArrayOutputStream memo = new ByteArrayOutputStream();
        memo.write(new byte[] {(byte) 0x80, 2, 'N'});
        for (int i = 0; i < WeightsUnpickler.MAX_MEMO + 5; i++) {
            memo.write('r');
            memo.write(i & 0xFF);
            memo.write((i >> 8) & 0xFF);
            memo.write((i >> 16) & 0xFF);
            memo.write((i >>> 24) & 0xFF);
        }
        assertThatThrownBy(() -> TorchCheckpoint.open(zipWith("memo.pt", memo.toByteArray())))
                .isInstanceOf(WeightFormatException.class).hasMessageContaining("memo entries");
    }

    @Test
    void aLengthFieldBeyondTheRecordAllocatesNothing() throws IOException {
        // BINUNICODE8 claiming 2^62 bytes, and a LONG1 longer than the record
        byte[] str = {(byte) 0x80, 2, (byte) 0x8d, 0, 0, 0, 0, 0, 0, 0, 0x40, 'a', '.'};
        assertThatThrownBy(() -> TorchCheckpoint.open(zipWith("str8.pt", str))).isInstanceOf(WeightFormatException.class)
                .hasMessageContaining("past the end");
        byte[] long1 = {(byte) 0x80, 2, (byte) 0x8a, (byte) 200, 1, 2, '.'};
        assertThatThrownBy(() -> TorchCheckpoint.open(zipWith("long1.pt", long1))).isInstanceOf(WeightFormatException.class)
                .hasMessageContaining("past the end of the record");
    }

    @Test
    void aMissingFileIsReported() {
        Path f = dir.resolve("absent.pt");
        assertThatThrownBy(() -> TorchCheckpoint.open(f)).isInstanceOf(WeightFormatException.class)
                .hasMessageContaining(f.toString()).hasMessageContaining("cannot open");
    }
}
