package dev.merv.data.videollava;

import dev.merv.core.config.Stage;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.merv.data.check.SampleException;
import dev.merv.data.check.SkipReason;
import org.junit.jupiter.api.Test;

class EntryParserTest {

    private static final String CONV = "\"conversations\": [{\"from\": \"human\", \"value\": \"<video>\\nQ?\"},"
            + " {\"from\": \"gpt\", \"value\": \"A.\"}]";

    @Test
    void kindsOfRows() throws SampleException {
        Entry v = EntryParser.parse("{\"id\": 1, \"video\": \"x/v.mp4\", " + CONV + "}", 3, Stage.FINETUNE, "f.json");
        assertThat(v.kind()).isEqualTo(Entry.Kind.VIDEO);
        assertThat(v.isImage()).isFalse();
        assertThat(v.mediaPath()).isEqualTo("x/v.mp4");
        assertThat(v.turns()).hasSize(2);
        assertThat(v.turns().get(0).value()).isEqualTo("<video>\nQ?");
        assertThat(v.index()).isEqualTo(3);

        Entry i = EntryParser.parse("{\"image\": \"coco/a.jpg\", " + CONV + "}", 0, Stage.FINETUNE, "f.json");
        assertThat(i.kind()).isEqualTo(Entry.Kind.IMAGE);
        assertThat(i.isImage()).isTrue();

        // both keys: the video wins, is_image stays true (docs/reference.md §5.2)
        Entry both = EntryParser.parse("{\"image\": \"a.jpg\", \"video\": \"b.mp4\", " + CONV + "}", 0, Stage.FINETUNE, "f");
        assertThat(both.kind()).isEqualTo(Entry.Kind.VIDEO);
        assertThat(both.mediaPath()).isEqualTo("b.mp4");
        assertThat(both.isImage()).isTrue();

        Entry t = EntryParser.parse("{" + CONV + "}", 0, Stage.FINETUNE, "f");
        assertThat(t.kind()).isEqualTo(Entry.Kind.TEXT);
        assertThat(t.hasMedia()).isFalse();
    }

    @Test
    void malformedRowsNameTheEntryAndField() {
        String[] bad = {
            "[1, 2]",
            "{\"conversations\": \"x\"}",
            "{\"conversations\": []}",
            "{\"conversations\": [{\"from\": \"gpt\", \"value\": \"x\"}]}",
            "{\"conversations\": [{\"from\": \"human\", \"value\": 5}]}",
            "{\"video\": [\"a.mp4\"], " + CONV + "}",
            "{\"image\": \"\", " + CONV + "}",
            "{\"video\": \"a.mp4\", " + CONV + ", oops}",
        };
        for (String b : bad) {
            assertThatThrownBy(() -> EntryParser.parse(b, 7, Stage.FINETUNE, "tune.json")).as(b)
                    .isInstanceOf(SampleException.class).hasMessageContaining("tune.json entry 7")
                    .extracting(e -> ((SampleException) e).reason()).isEqualTo(SkipReason.MALFORMED_ENTRY);
        }
    }

    @Test
    void alignRowsNeedTwoTurnsAndAPlaceholderFreeCaption() throws SampleException {
        assertThat(EntryParser.parse("{\"video\": \"a.mp4\", " + CONV + "}", 0, Stage.ALIGN, "a").kind())
                .isEqualTo(Entry.Kind.VIDEO);
        String three = "{\"conversations\": [{\"from\": \"human\", \"value\": \"q\"}, {\"from\": \"gpt\", \"value\": \"a\"},"
                + " {\"from\": \"human\", \"value\": \"q2\"}]}";
        assertThatThrownBy(() -> EntryParser.parse(three, 1, Stage.ALIGN, "a")).hasMessageContaining("exactly 2 turns");
        String tag = "{\"conversations\": [{\"from\": \"human\", \"value\": \"q\"}, {\"from\": \"gpt\", \"value\": \"<image> a\"}]}";
        assertThatThrownBy(() -> EntryParser.parse(tag, 1, Stage.ALIGN, "a")).hasMessageContaining("placeholder");
    }
}
