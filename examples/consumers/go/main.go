// Command consumer reads hookbridge events from Kafka with a consumer group, decodes each envelope and prints
// one line per event; it commits a record's offset only after handling it.
//
//	go run . --brokers 127.0.0.1:9092 --group billing --topic '^webhooks\..*'
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"hookbridge/examples/consumers/go/envelope"
)

type topicList []string

func (t *topicList) String() string     { return strings.Join(*t, ",") }
func (t *topicList) Set(v string) error { *t = append(*t, v); return nil }

func main() {
	var topics topicList
	brokers := flag.String("brokers", envOr("KAFKA_BOOTSTRAP", "127.0.0.1:9092"), "bootstrap brokers, comma-separated")
	group := flag.String("group", "hookbridge-example-go", "consumer group")
	flag.Var(&topics, "topic", `topic to read, or a regex starting with ^ such as '^webhooks\..*' (repeatable)`)
	fromBeginning := flag.Bool("from-beginning", false, "a group without committed offsets starts at the oldest record (default: the newest)")
	maxEvents := flag.Int("max-events", 0, "stop after this many events (0: run until SIGINT/SIGTERM)")
	timeout := flag.Float64("timeout", 0, "stop after this many seconds (0: no limit)")
	flag.Parse()
	if len(topics) == 0 {
		topics = topicList{`^webhooks\..*`}
	}
	log.SetFlags(0)

	opts := []kgo.Opt{
		kgo.SeedBrokers(strings.Split(*brokers, ",")...),
		kgo.ConsumerGroup(*group),
		kgo.ConsumeTopics(topics...),
		kgo.DisableAutoCommit(),    // commit ourselves, after handling
		kgo.BlockRebalanceOnPoll(), // ... so no partition moves away between a poll and its commit
		kgo.ConsumeResetOffset(kgo.NewOffset().AtEnd()),
	}
	if *fromBeginning {
		opts = append(opts, kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	}
	if slices.ContainsFunc(topics, func(t string) bool { return strings.HasPrefix(t, "^") }) {
		// every topic name is then a regex (anchor the others too), matched again at each metadata refresh
		// (new topics within 10 s)
		opts = append(opts, kgo.ConsumeRegex(), kgo.MetadataMaxAge(10*time.Second))
	}
	client, err := kgo.NewClient(opts...)
	if err != nil {
		log.Fatal(err)
	}
	defer client.Close()          // leaves the group ...
	defer client.AllowRebalance() // ... which waits for a poll that returned without being allowed on

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if *timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, time.Duration(*timeout*float64(time.Second)))
		defer cancel()
	}

	handled := 0
	for *maxEvents == 0 || handled < *maxEvents {
		fetches := client.PollRecords(ctx, 100)
		if fetches.IsClientClosed() || ctx.Err() != nil {
			break
		}
		fetches.EachError(func(topic string, partition int32, err error) {
			if !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded) {
				log.Printf("fetch %s[%d]: %v", topic, partition, err)
			}
		})
		var done []*kgo.Record
		for _, rec := range fetches.Records() {
			if *maxEvents > 0 && handled == *maxEvents {
				break // the rest stays uncommitted: the group's next consumer gets it
			}
			handle(rec)
			done = append(done, rec)
			handled++
		}
		if len(done) > 0 {
			commitCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			if err := client.CommitRecords(commitCtx, done...); err != nil {
				log.Printf("commit: %v", err)
			}
			cancel()
		}
		client.AllowRebalance()
	}
}

// handle is where an application does its work with the event. A record that is not a v1 envelope is reported and
// skipped (its offset is committed with the others); a real consumer might send it to a dead-letter topic instead.
func handle(rec *kgo.Record) {
	ev, err := envelope.Decode(rec.Value)
	if err != nil {
		log.Printf("skipping %s[%d]@%d: %v", rec.Topic, rec.Partition, rec.Offset, err)
		return
	}
	fmt.Printf("id=%s endpoint=%s triggers=%s body_bytes=%d test=%t topic=%s partition=%d offset=%d\n",
		ev.ID, ev.Endpoint, strings.Join(ev.Triggers, ","), len(ev.Body), ev.Test, rec.Topic, rec.Partition,
		rec.Offset)
}

func envOr(name, fallback string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return fallback
}
