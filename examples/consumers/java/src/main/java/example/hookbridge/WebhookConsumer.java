package example.hookbridge;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.regex.Pattern;

import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;

/**
 * Reads hookbridge events from Kafka with a consumer group, decodes each envelope and prints one line per event; a
 * record's offset is committed only after it was handled.
 *
 * <pre>
 * mvn -q compile exec:java -Dexec.args="--brokers 127.0.0.1:9092 --group billing --topic ^webhooks\..*"
 * </pre>
 */
public final class WebhookConsumer {

    /**
     * Where an application does its work with the event. A record that is not a v1 envelope is reported and skipped
     * (its offset is committed like any other); a real consumer might send it to a dead-letter topic instead.
     */
    static void handle(ConsumerRecord<byte[], byte[]> record) {
        Envelope event;
        try {
            event = Envelope.decode(record.value());
        } catch (Envelope.EnvelopeException e) {
            System.err.printf("skipping %s[%d]@%d: %s%n", record.topic(), record.partition(), record.offset(),
                    e.getMessage());
            return;
        }
        System.out.printf("id=%s endpoint=%s triggers=%s body_bytes=%d test=%b topic=%s partition=%d offset=%d%n",
                event.id(), event.endpoint(), String.join(",", event.triggers()), event.body().length, event.test(),
                record.topic(), record.partition(), record.offset());
    }

    public static void main(String[] argv) {
        String brokers = System.getenv().getOrDefault("KAFKA_BOOTSTRAP", "127.0.0.1:9092");
        String group = "hookbridge-example-java";
        List<String> topics = new ArrayList<>();
        boolean fromBeginning = false;
        long maxEvents = 0;
        double timeoutSeconds = 0;
        for (int i = 0; i < argv.length; i++) {
            switch (argv[i]) {
                case "--brokers" -> brokers = argv[++i];
                case "--group" -> group = argv[++i];
                case "--topic" -> topics.add(argv[++i]); // a name, or a regex starting with ^ (repeatable)
                case "--from-beginning" -> fromBeginning = true; // a group without offsets starts at the oldest
                case "--max-events" -> maxEvents = Long.parseLong(argv[++i]); // stop after this many (0: no limit)
                case "--timeout" -> timeoutSeconds = Double.parseDouble(argv[++i]); // stop after this long (0: none)
                default -> {
                    System.err.println("usage: WebhookConsumer [--brokers B] [--group G] [--topic T|^REGEX]... "
                            + "[--from-beginning] [--max-events N] [--timeout SECONDS]");
                    System.exit(2);
                }
            }
        }
        if (topics.isEmpty()) {
            topics.add("^webhooks\\..*");
        }
        boolean regex = topics.get(0).startsWith("^");
        if (topics.size() > 1 && topics.stream().anyMatch(t -> t.startsWith("^"))) {
            System.err.println("kafka-clients subscribes to one regex or to a list of names, not both");
            System.exit(2);
        }

        Properties props = new Properties();
        props.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, brokers);
        props.put(ConsumerConfig.GROUP_ID_CONFIG, group);
        props.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false"); // commit ourselves, after handling
        props.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, fromBeginning ? "earliest" : "latest");
        props.put(ConsumerConfig.METADATA_MAX_AGE_CONFIG, "10000"); // a regex subscription sees new topics in 10 s

        long deadline = timeoutSeconds > 0 ? System.nanoTime() + (long) (timeoutSeconds * 1e9) : Long.MAX_VALUE;
        AtomicBoolean stopping = new AtomicBoolean();
        try (KafkaConsumer<byte[], byte[]> consumer =
                new KafkaConsumer<>(props, new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
            Thread main = Thread.currentThread();
            Thread hook = new Thread(() -> { // SIGINT/SIGTERM: wake the poll, then wait for the clean close
                stopping.set(true);
                consumer.wakeup();
                try {
                    main.join(30_000);
                } catch (InterruptedException ignored) {
                    Thread.currentThread().interrupt();
                }
            });
            Runtime.getRuntime().addShutdownHook(hook);

            if (regex) {
                consumer.subscribe(Pattern.compile(topics.get(0)));
            } else {
                consumer.subscribe(topics);
            }
            long handled = 0;
            try {
                while (!stopping.get() && (maxEvents == 0 || handled < maxEvents) && System.nanoTime() < deadline) {
                    ConsumerRecords<byte[], byte[]> records = consumer.poll(Duration.ofMillis(500));
                    for (ConsumerRecord<byte[], byte[]> record : records) {
                        if (maxEvents > 0 && handled == maxEvents) {
                            break; // the rest stays uncommitted: the group's next consumer gets it
                        }
                        handle(record);
                        consumer.commitSync(Map.of(new TopicPartition(record.topic(), record.partition()),
                                new OffsetAndMetadata(record.offset() + 1))); // the next offset to read
                        handled++;
                    }
                }
            } catch (WakeupException e) {
                // stopping
            }
            if (!stopping.get()) {
                Runtime.getRuntime().removeShutdownHook(hook);
            }
        } // close() leaves the group
    }
}
