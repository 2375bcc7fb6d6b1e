package bench

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gin-gonic/gin"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	sdkworker "go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/lift-hq/lift/config"
	"github.com/lift-hq/lift/internal/boot"
	"github.com/lift-hq/lift/internal/devstack"
	"github.com/lift-hq/lift/internal/domain"
	"github.com/lift-hq/lift/models"
	"github.com/lift-hq/lift/workflows"
)

// Options size a run. The zero value of a field takes its default.
type Options struct {
	// Phase is how long each rate is measured (10s).
	Phase time.Duration
	// Clients is how many requests are in flight at once (16).
	Clients int
	// Sequences is how many three-step sequences the bare-workflow and
	// Lift runs each start (100).
	Sequences int
	// Open is how many sequences are left open for the worker's memory
	// (10,000).
	Open int
	// Customers is how many customers the re-engagement scan reads
	// (100,000).
	Customers int
	// Exe is the lift-dev binary, run again as `bench-worker` to measure
	// a worker process on its own; empty skips the memory measurement.
	Exe string
	// Out receives the report (Markdown).
	Out io.Writer
	// Progress receives a line per step as the run goes (stderr).
	Progress io.Writer
	// Only runs just these measurements (ingest, sequences, memory,
	// re-engagement); empty runs all.
	Only []string
}

func (o *Options) defaults() {
	if o.Phase <= 0 {
		o.Phase = 10 * time.Second
	}
	if o.Clients <= 0 {
		o.Clients = 16
	}
	if o.Sequences <= 0 {
		o.Sequences = 100
	}
	if o.Open <= 0 {
		o.Open = 10_000
	}
	if o.Customers <= 0 {
		o.Customers = 100_000
	}
	if o.Out == nil {
		o.Out = os.Stdout
	}
	if o.Progress == nil {
		o.Progress = io.Discard
	}
}

// The bench's sequence day: short, so three-step sequences finish in
// seconds; the waits of the open sequences are far beyond it.
const day = time.Second

// benchQueue is the bare workflows' task queue.
const benchQueue = "lift-bench"

// run is one bench: the stack, an API client, and the report so far.
type run struct {
	o      Options
	dev    *devstack.Dev
	api    *apiClient
	rows   []string
	nextID atomic.Int64
	// enrolled are customers with a running bench-start sequence.
	mu       sync.Mutex
	enrolled []string
}

// Run starts the embedded stack (in-process Temporal on SQLite, the
// API, the worker, the outbox mailer) in a temporary directory and
// measures, in one run:
//
//   - raw SignalWithStart against the same server: the baseline of the
//     ingest rates;
//   - POST /v1/events where every event starts a sequence; where 20 %
//     start one and 80 % touch none; and purchases by enrolled customers
//     with 50 published campaigns;
//   - a bare workflow (3 × timer + activity) against Lift's three-email
//     sequence, at the same compressed day;
//   - billable actions and history events per email step;
//   - a worker process's memory with Open sequences open;
//   - the re-engagement scan over Customers customers, against a
//     watcher workflow per customer.
func Run(ctx context.Context, o Options) error {
	o.defaults()
	dir, err := os.MkdirTemp("", "lift-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	gin.SetMode(gin.ReleaseMode)
	env := map[string]string{
		"LIFT_DATA_DIR": dir, "LIFT_HTTP": "127.0.0.1:0", "LIFT_TEMPORAL_PORT": "0", "LIFT_UI_PORT": "0",
		"LIFT_DAY": day.String(), "LIFT_CAP_PER_DAY": "0", "LIFT_CAP_PER_WEEK": "0",
		"LIFT_POSTAL_ADDRESS": "1 Bench Street, Benchville", "LIFT_FROM_EMAIL": "bench@example.com",
	}
	if v := os.Getenv("LIFT_WORKER_CACHE"); v != "" { // the worker's memory under another cache size
		env["LIFT_WORKER_CACHE"] = v
	}
	cfg, err := config.Load(config.RoleDev, env, nil)
	if err != nil {
		return err
	}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	d, err := devstack.Start(ctx, cfg, logger)
	if err != nil {
		return err
	}
	defer d.Stop(context.Background())
	r := &run{o: o, dev: d, api: newAPIClient(d.APIURL, d.APIKey, o.Clients)}
	bare := sdkworker.New(d.Temporal, benchQueue, sdkworker.Options{})
	bare.RegisterWorkflowWithOptions(waitWorkflow, workflow.RegisterOptions{Name: "BenchWait"})
	bare.RegisterWorkflowWithOptions(bareSequence, workflow.RegisterOptions{Name: "BenchSequence"})
	bare.RegisterActivityWithOptions(func(context.Context) error { return nil }, activity.RegisterOptions{Name: "BenchStep"})
	if err := bare.Start(); err != nil {
		return err
	}
	defer bare.Stop()

	fmt.Fprintf(o.Out, "Embedded stack (in-process Temporal on SQLite, API, worker, outbox), %d CPUs, %s; %d requests in flight, %s per rate.\n\n",
		runtime.NumCPU(), runtime.Version(), o.Clients, o.Phase)
	steps := []struct {
		name string
		fn   func(context.Context) error
	}{
		{"setup", r.setup},
		{"ingest", r.ingest},
		{"sequences", r.sequences},
		{"memory", r.memory},
		{"re-engagement", r.dormancy},
	}
	for _, s := range steps {
		if s.name != "setup" && len(o.Only) > 0 && !slices.Contains(o.Only, s.name) {
			continue
		}
		fmt.Fprintf(o.Progress, "lift bench: %s…\n", s.name)
		if err := s.fn(ctx); err != nil {
			return fmt.Errorf("%s: %w", s.name, err)
		}
	}
	return nil
}

// waitWorkflow is the baseline of a sequence's start: it waits.
func waitWorkflow(ctx workflow.Context) error {
	return workflow.Sleep(ctx, time.Hour)
}

// bareSequence is a sequence without Lift: three steps of a timer of a
// day and an activity.
func bareSequence(ctx workflow.Context) error {
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: time.Minute})
	for i := 1; i <= 3; i++ {
		if err := workflow.Sleep(ctx, day); err != nil {
			return err
		}
		if err := workflow.ExecuteActivity(ctx, "BenchStep").Get(ctx, nil); err != nil {
			return err
		}
	}
	return nil
}

func (r *run) customer() string { return fmt.Sprintf("c-%07d", r.nextID.Add(1)) }

// setup makes a product, the customers the rates need (an import) and
// the campaign every "start" milestone enters.
func (r *run) setup(ctx context.Context) error {
	if err := r.api.expect(ctx, "PUT", "/v1/products/p-1", `{"name":"Bench","category":"bench","price":10,"currency":"USD"}`, 200); err != nil {
		return err
	}
	var csv strings.Builder
	csv.WriteString("customer_id,email,marketing_consent,consent_source,consent_at\n")
	for i := 1; i <= 60_000+r.o.Open; i++ {
		fmt.Fprintf(&csv, "c-%07d,c-%07d@example.com,true,bench,2026-01-01T00:00:00Z\n", i, i)
	}
	st, body, err := r.api.do(ctx, "POST", "/v1/imports/customers", "text/csv", []byte(csv.String()))
	if err != nil || st != 200 {
		return fmt.Errorf("import customers: %d %s %v", st, body, err)
	}
	return r.campaign(ctx, "bench-start", `{"event":"milestone","where":{"name":"start"}}`, `[{"id":"later","at":"300d","subject":"Later","template":"education","body":"Later."}]`)
}

func (r *run) campaign(ctx context.Context, id, trigger, steps string) error {
	def := fmt.Sprintf(`{"id":%q,"name":%q,"kind":"cross_sell","trigger":%s,"exit_on":["purchase_any"],"attribution_window":"1d","steps":%s}`, id, id, trigger, steps)
	if err := r.api.expect(ctx, "POST", "/v1/campaigns", def, 201); err != nil {
		return err
	}
	return r.api.expect(ctx, "POST", "/v1/campaigns/"+id+"/publish", "", 201)
}

// rate is a measured request rate.
type rate struct {
	n       int
	elapsed time.Duration
	p99     time.Duration
	failed  int
}

func (x rate) perSecond() float64 { return float64(x.n) / x.elapsed.Seconds() }

// measure runs send from Clients goroutines for Phase and returns the
// rate of successful calls and their 99th-percentile latency.
func (r *run) measure(ctx context.Context, send func(ctx context.Context, i int) error) rate {
	var (
		mu        sync.Mutex
		latencies []time.Duration
		failed    int
		counter   atomic.Int64
		wg        sync.WaitGroup
	)
	deadline := time.Now().Add(r.o.Phase)
	start := time.Now()
	for range r.o.Clients {
		wg.Go(func() {
			for time.Now().Before(deadline) && ctx.Err() == nil {
				i := int(counter.Add(1))
				t0 := time.Now()
				err := send(ctx, i)
				took := time.Since(t0)
				mu.Lock()
				if err != nil {
					failed++
				} else {
					latencies = append(latencies, took)
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	slices.Sort(latencies)
	out := rate{n: len(latencies), elapsed: elapsed, failed: failed}
	if len(latencies) > 0 {
		out.p99 = latencies[min(len(latencies)-1, len(latencies)*99/100)]
	}
	return out
}

func (r *run) event(ctx context.Context, body string) error {
	st, resp, err := r.api.do(ctx, "POST", "/v1/events", "application/json", []byte(body))
	if err != nil {
		return err
	}
	if st != 202 {
		return fmt.Errorf("POST /v1/events: %d %s", st, resp)
	}
	return nil
}

func (r *run) start(ctx context.Context) error {
	c := r.customer()
	if err := r.event(ctx, `{"type":"milestone","customer_id":"`+c+`","properties":{"name":"start"}}`); err != nil {
		return err
	}
	r.mu.Lock()
	r.enrolled = append(r.enrolled, c)
	r.mu.Unlock()
	return nil
}

// ingest measures the API's event rates against raw SignalWithStart.
func (r *run) ingest(ctx context.Context) error {
	sws := r.measure(ctx, func(ctx context.Context, i int) error {
		_, err := r.dev.Temporal.SignalWithStartWorkflow(ctx, "bench-sws-"+strconv.Itoa(i), "go", nil,
			client.StartWorkflowOptions{TaskQueue: benchQueue}, "BenchWait")
		return err
	})
	allStart := r.measure(ctx, func(ctx context.Context, _ int) error { return r.start(ctx) })
	mixed := r.measure(ctx, func(ctx context.Context, i int) error {
		if i%5 == 0 {
			return r.start(ctx)
		}
		return r.event(ctx, fmt.Sprintf(`{"type":"page_view","customer_id":"c-%07d","properties":{"sku":"p-1"}}`, 1+i%1000))
	})
	for i := 1; i < 50; i++ {
		id := fmt.Sprintf("bench-other-%02d", i)
		if err := r.campaign(ctx, id, `{"event":"milestone","where":{"name":"`+id+`"}}`, `[{"id":"a","at":"300d","subject":"Other","template":"education","body":"Other."}]`); err != nil {
			return err
		}
	}
	r.mu.Lock()
	buyers := slices.Clone(r.enrolled)
	r.mu.Unlock()
	purchases := r.measure(ctx, func(ctx context.Context, i int) error {
		c := buyers[i%len(buyers)]
		return r.event(ctx, fmt.Sprintf(`{"type":"purchase","customer_id":%q,"properties":{"order_id":"bench-o-%d","currency":"USD","items":[{"sku":"p-1","quantity":1,"price":10}]}}`, c, i))
	})
	out := r.o.Out
	fmt.Fprintln(out, "### Ingest")
	fmt.Fprintln(out)
	fmt.Fprintln(out, "| what | requests/s | p99 | vs raw SWS |")
	fmt.Fprintln(out, "|---|---|---|---|")
	row := func(name string, x rate) {
		ratio := "baseline"
		if name != "raw `SignalWithStart` (SDK client)" {
			ratio = fmt.Sprintf("%.2f×", x.perSecond()/sws.perSecond())
		}
		failed := ""
		if x.failed > 0 {
			failed = fmt.Sprintf(" (%d failed)", x.failed)
		}
		fmt.Fprintf(out, "| %s | %.1f%s | %s | %s |\n", name, x.perSecond(), failed, x.p99.Round(time.Millisecond), ratio)
	}
	row("raw `SignalWithStart` (SDK client)", sws)
	row("`POST /v1/events`, every event starts a sequence", allStart)
	row("`POST /v1/events`, 20 % start one, 80 % touch none", mixed)
	row(fmt.Sprintf("`POST /v1/events`, purchases by enrolled customers, 50 published campaigns (%d buyers)", len(buyers)), purchases)
	fmt.Fprintln(out)
	return nil
}

// sequences runs bare three-step workflows, then Lift's three-email
// sequences, at the same day, and the cost of one finished sequence.
func (r *run) sequences(ctx context.Context) error {
	n := r.o.Sequences
	start := time.Now()
	var wg sync.WaitGroup
	errs := make(chan error, n)
	sem := make(chan struct{}, r.o.Clients)
	for i := range n {
		wg.Go(func() {
			sem <- struct{}{}
			run, err := r.dev.Temporal.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: "bench-bare-" + strconv.Itoa(i), TaskQueue: benchQueue}, "BenchSequence")
			<-sem
			if err == nil {
				err = run.Get(ctx, nil)
			}
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			return err
		}
	}
	bareTook := time.Since(start)

	if err := r.campaign(ctx, "bench-seq", `{"event":"milestone","where":{"name":"seq"}}`,
		`[{"id":"one","at":"1d","subject":"One","template":"education","body":"One."},
		  {"id":"two","at":"2d","subject":"Two","template":"education","body":"Two."},
		  {"id":"three","at":"3d","subject":"Three","template":"education","body":"Three."}]`); err != nil {
		return err
	}
	var custs []string
	var batch bytes.Buffer
	batch.WriteString(`{"events":[`)
	for i := range n {
		c := r.customer()
		custs = append(custs, c)
		if i > 0 {
			batch.WriteByte(',')
		}
		fmt.Fprintf(&batch, `{"type":"milestone","customer_id":%q,"properties":{"name":"seq"}}`, c)
	}
	batch.WriteString(`]}`)
	start = time.Now()
	if st, body, err := r.api.do(ctx, "POST", "/v1/events:batch", "application/json", batch.Bytes()); err != nil || st != 200 {
		return fmt.Errorf("events:batch: %d %s %v", st, body, err)
	}
	err := poll(ctx, 10*time.Minute, func() (bool, error) {
		var sent int64
		err := r.dev.Store.DB().WithContext(ctx).Model(&models.Message{}).
			Where("campaign_id = ? AND status = ?", "bench-seq", domain.MessageSent).Count(&sent).Error
		return sent >= int64(3*n), err
	})
	if err != nil {
		return err
	}
	liftTook := time.Since(start)

	// The cost of one sequence, run on its own once the others are done:
	// under load a step can be due before its workflow task runs, and
	// then it needs no timer, which would flatter the count. It stays
	// open for its one-day attribution window after the last email.
	for _, c := range custs {
		if err := r.dev.Temporal.GetWorkflow(ctx, workflows.SequenceWorkflowID("bench-seq", c), "").Get(ctx, nil); err != nil {
			return err
		}
	}
	alone := r.customer()
	if err := r.event(ctx, `{"type":"milestone","customer_id":"`+alone+`","properties":{"name":"seq"}}`); err != nil {
		return err
	}
	id := workflows.SequenceWorkflowID("bench-seq", alone)
	if err := poll(ctx, time.Minute, func() (bool, error) {
		_, err := r.dev.Temporal.DescribeWorkflowExecution(ctx, id, "")
		return err == nil, nil
	}); err != nil {
		return err
	}
	if err := r.dev.Temporal.GetWorkflow(ctx, id, "").Get(ctx, nil); err != nil {
		return err
	}
	h, err := history(ctx, r.dev.Temporal, id)
	if err != nil {
		return err
	}
	cost := HistoryCost(h)

	out := r.o.Out
	bareRate, liftRate := float64(n)/bareTook.Seconds(), float64(n)/liftTook.Seconds()
	fmt.Fprintf(out, "### Sequences (day = %s, %d each, three steps)\n\n", day, n)
	fmt.Fprintln(out, "| what | finished in | sequences/s | vs bare |")
	fmt.Fprintln(out, "|---|---|---|---|")
	fmt.Fprintf(out, "| bare workflow: 3 × (timer of a day + empty activity) | %s | %.1f | baseline |\n", bareTook.Round(10*time.Millisecond), bareRate)
	fmt.Fprintf(out, "| Lift sequence: 3 emails rendered and sent to the outbox (until the last is sent) | %s | %.1f | %.2f× |\n\n",
		liftTook.Round(10*time.Millisecond), liftRate, liftRate/bareRate)
	fmt.Fprintf(out, "One finished three-email sequence (`%s`): %d billable actions (%.1f per email step: %s) and %d history events (%.1f per email step).\n\n",
		id, cost.Total(), float64(cost.Total())/3, cost, cost.Events, float64(cost.Events)/3)
	return nil
}

// memory runs the worker in a process of its own, opens Open sequences
// (each waiting for its first email), and reads the process's memory.
func (r *run) memory(ctx context.Context) error {
	out := r.o.Out
	if r.o.Exe == "" {
		fmt.Fprintln(out, "Worker memory: skipped (no binary to run the worker in).")
		return nil
	}
	if err := r.campaign(ctx, "bench-open", `{"event":"milestone","where":{"name":"open"}}`,
		`[{"id":"later","at":"300d","subject":"Later","template":"education","body":"Later."}]`); err != nil {
		return err
	}
	// The open sequences count their waits in hours, so that none of them
	// is due while ten thousand are opened (at the bench's one-second day
	// the longest wait a step may have, 399 days, is under seven minutes).
	// Nothing else runs in the API meanwhile.
	r.dev.App.Settings.Day = time.Hour
	defer func() { r.dev.App.Settings.Day = day }()
	r.dev.StopWorker()
	cfg := r.dev.Config
	cmd := exec.CommandContext(ctx, r.o.Exe, "bench-worker")
	cmd.Env = append(os.Environ(), "LIFT_DATA_DIR="+cfg.DataDir, "LIFT_TEMPORAL_ADDRESS="+cfg.TemporalAddress,
		"LIFT_DAY="+day.String(), "LIFT_CAP_PER_DAY=0", "LIFT_CAP_PER_WEEK=0", "LIFT_UNSUBSCRIBE_SECRET="+cfg.UnsubscribeSecret,
		"LIFT_POSTAL_ADDRESS="+cfg.PostalAddress, "LIFT_WORKER_CACHE="+strconv.Itoa(cfg.WorkerCache), "LIFT_FROM_EMAIL="+cfg.FromEmail, "LIFT_PUBLIC_URL="+cfg.PublicURL)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return err
	}
	defer func() {
		_ = cmd.Process.Signal(os.Interrupt)
		_ = cmd.Wait()
	}()
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || strings.TrimSpace(line) != "ready" {
		return fmt.Errorf("bench-worker did not start: %q %v", line, err)
	}
	time.Sleep(3 * time.Second)
	idle, _, err := procMemory(cmd.Process.Pid)
	if err != nil {
		return err
	}
	start := time.Now()
	n := r.o.Open
	sem := make(chan struct{}, max(r.o.Clients/4, 1))
	var wg sync.WaitGroup
	errc := make(chan error, n/1000+1)
	for from := 0; from < n; from += 1000 {
		var batch bytes.Buffer
		batch.WriteString(`{"events":[`)
		for i := from; i < min(from+1000, n); i++ {
			if i > from {
				batch.WriteByte(',')
			}
			fmt.Fprintf(&batch, `{"type":"milestone","customer_id":%q,"properties":{"name":"open"}}`, r.customer())
		}
		batch.WriteString(`]}`)
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			st, body, err := r.api.do(ctx, "POST", "/v1/events:batch", "application/json", batch.Bytes())
			if err == nil && st != 200 {
				err = fmt.Errorf("events:batch: %d %.200s", st, body)
			}
			errc <- err
		})
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		if err != nil {
			return err
		}
	}
	query := `WorkflowType="` + workflows.SequenceWorkflowName + `" AND ExecutionStatus="Running" AND ` + workflows.CampaignIDKey.GetName() + `="bench-open" AND ` + workflows.NextEmailAtKey.GetName() + ` > "2000-01-01T00:00:00Z"`
	err = poll(ctx, 15*time.Minute, func() (bool, error) {
		resp, err := r.dev.Temporal.CountWorkflow(ctx, &workflowservice.CountWorkflowExecutionsRequest{Namespace: cfg.TemporalNamespace, Query: query})
		if err != nil {
			return false, err
		}
		return resp.GetCount() >= int64(n), nil
	})
	if err != nil {
		return err
	}
	opened := time.Since(start)
	time.Sleep(3 * time.Second)
	rss, peak, err := procMemory(cmd.Process.Pid)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "### Worker memory\n\n")
	fmt.Fprintf(out, "A worker process of its own (`lift-dev bench-worker`: Lift's worker, with a sticky cache of %d workflows, `LIFT_WORKER_CACHE`), from `/proc`:\n\n", r.dev.Config.WorkerCache)
	fmt.Fprintln(out, "| state | RSS | peak RSS |")
	fmt.Fprintln(out, "|---|---|---|")
	fmt.Fprintf(out, "| idle, polling | %s | |\n", mib(idle))
	fmt.Fprintf(out, "| %d open sequences, each waiting for its first email (opened in %s) | %s | %s (goal ≤ 300 MB: %.2f× of it) |\n\n",
		n, opened.Round(time.Second), mib(rss), mib(peak), float64(peak)/300e6)
	return nil
}

// dormancy times the re-engagement scan over Customers customers and
// sets its cost against a watcher workflow per customer.
func (r *run) dormancy(ctx context.Context) error {
	n := r.o.Customers
	db := r.dev.Store.DB().WithContext(ctx)
	now := time.Now().UTC()
	span := 60 * 24 * time.Hour
	for from := 0; from < n; from += 1000 {
		var cs []models.Customer
		var as []models.CustomerActivity
		for i := from; i < min(from+1000, n); i++ {
			id := fmt.Sprintf("q-%07d", i)
			cs = append(cs, models.Customer{ID: id, Email: id + "@example.com", Timezone: "UTC", Locale: "en", Consent: true, Tier: "starter"})
			// Last events spread evenly over the past 60 days.
			as = append(as, models.CustomerActivity{CustomerID: id, LastEventAt: now.Add(-span / time.Duration(n) * time.Duration(i))})
		}
		if err := db.Create(&cs).Error; err != nil {
			return err
		}
		if err := db.Create(&as).Error; err != nil {
			return err
		}
	}
	// A win-back after 30 days that the gate turns everyone away from
	// (a tier nobody has), so the scan's whole cost is measured without
	// starting thousands of sequences.
	if err := r.api.expect(ctx, "POST", "/v1/campaigns", `{"id":"bench-winback","name":"bench-winback","kind":"cross_sell",
		"trigger":{"event":"inactivity","after":"30d","where":{"customer.tier":"bench-nobody"}},
		"steps":[{"id":"miss-you","at":"0d","subject":"We miss you","template":"education","body":"Hello again."}]}`, 201); err != nil {
		return err
	}
	if err := r.api.expect(ctx, "POST", "/v1/campaigns/bench-winback/publish", "", 201); err != nil {
		return err
	}
	var took []time.Duration
	considered := 0
	for range 3 {
		t0 := time.Now()
		scan, err := r.dev.App.StartQuiet(ctx, nil)
		if err != nil {
			return err
		}
		took = append(took, time.Since(t0))
		considered = scan.Considered
	}
	slices.Sort(took)
	scan := took[1]
	// The real day's numbers: the scan runs hourly (LIFT_DORMANCY_SCAN's
	// default at a 24-hour day); a watcher woke daily.
	scansPerDay := 24
	out := r.o.Out
	fmt.Fprintf(out, "### Re-engagement, %d customers (last events spread over 60 days, one live inactivity campaign)\n\n", n)
	fmt.Fprintln(out, "| design | billable actions a day | worker work a day |")
	fmt.Fprintln(out, "|---|---|---|")
	fmt.Fprintf(out, "| before: a watcher workflow per customer (one activity and one timer per customer per day, and a signal per event) | %d + 1 per event | %d workflow tasks and %d activities |\n",
		2*n, n, n)
	fmt.Fprintf(out, "| after: the scan, hourly (one activity and one timer per scan) | %d | %d scans of %s each (median of 3; %d customers considered by the gate per scan) = %s |\n\n",
		2*scansPerDay, scansPerDay, scan.Round(time.Millisecond), considered, (scan * time.Duration(scansPerDay)).Round(time.Millisecond))
	fmt.Fprintf(out, "Actions a day: %.4f× of before.\n", float64(2*scansPerDay)/float64(2*n))
	return nil
}

// WorkerMain is `lift-dev bench-worker`: Lift's worker alone, against the
// bench's Temporal server and database (LIFT_TEMPORAL_ADDRESS,
// LIFT_DATA_DIR). It prints "ready" once polling and stops on SIGINT.
func WorkerMain(ctx context.Context, out io.Writer) error {
	cfg, err := config.Load(config.RoleDev, config.Environ(), nil)
	if err != nil {
		return err
	}
	addr := os.Getenv("LIFT_TEMPORAL_ADDRESS")
	if addr == "" {
		return errors.New("LIFT_TEMPORAL_ADDRESS is not set")
	}
	cfg.TemporalAddress, cfg.Temporal.Address = addr, addr
	l, err := boot.Build(ctx, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), boot.Options{Service: "lift-bench-worker"})
	if err != nil {
		return err
	}
	defer l.Close()
	w := l.Worker()
	if err := w.Start(); err != nil {
		return err
	}
	defer w.Stop()
	fmt.Fprintln(out, "ready")
	<-ctx.Done()
	return nil
}

func mib(b int64) string { return fmt.Sprintf("%.0f MiB", float64(b)/(1<<20)) }

// procMemory reads a process's resident and peak resident memory.
func procMemory(pid int) (rss, peak int64, err error) {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0, err
	}
	for _, line := range strings.Split(string(raw), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		switch k {
		case "VmRSS":
			rss = kb << 10
		case "VmHWM":
			peak = kb << 10
		}
	}
	return rss, peak, nil
}

// poll calls done every 200 ms until it says true, fails, or timeout.
func poll(ctx context.Context, timeout time.Duration, done func() (bool, error)) error {
	deadline := time.Now().Add(timeout)
	for {
		ok, err := done()
		if err != nil || ok {
			return err
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not done after %s", timeout)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// apiClient calls Lift's API with the key.
type apiClient struct {
	url, key string
	http     *http.Client
}

func newAPIClient(url, key string, conns int) *apiClient {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConnsPerHost = conns
	return &apiClient{url: url, key: key, http: &http.Client{Transport: t, Timeout: 5 * time.Minute}}
}

func (a *apiClient) do(ctx context.Context, method, path, contentType string, body []byte) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, method, a.url+path, bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Authorization", "Bearer "+a.key)
	if body != nil {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := a.http.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	return resp.StatusCode, raw, err
}

func (a *apiClient) expect(ctx context.Context, method, path, body string, want int) error {
	var b []byte
	if body != "" {
		b = []byte(body)
	}
	st, raw, err := a.do(ctx, method, path, "application/json", b)
	if err != nil {
		return err
	}
	if st != want {
		return fmt.Errorf("%s %s: %d %s", method, path, st, raw)
	}
	return nil
}

// history reads a workflow's latest run's history.
func history(ctx context.Context, c client.Client, workflowID string) (*historypb.History, error) {
	it := c.GetWorkflowHistory(ctx, workflowID, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	h := &historypb.History{}
	for it.HasNext() {
		ev, err := it.Next()
		if err != nil {
			return nil, err
		}
		h.Events = append(h.Events, ev)
	}
	return h, nil
}
