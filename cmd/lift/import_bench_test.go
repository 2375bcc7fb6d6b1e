package main

import (
	"bufio"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/lift-hq/lift/api"
	"github.com/lift-hq/lift/internal/apptest"
	"github.com/lift-hq/lift/internal/testdb"
)

// BenchmarkImportOrders loads order lines into PostgreSQL through
// `lift import` (a child process streaming the file to the real router
// over HTTP) and, in the same run, the same file with a raw COPY into a
// table of the file's shape, and prints both times, their ratio and the
// peak memory of the importer and of the API. It needs TEST_DATABASE_URL;
// LIFT_BENCH_LINES sets the size (default 1,000,000):
//
//	TEST_DATABASE_URL=postgres://… go test ./cmd/lift -run '^$' -bench ImportOrders -benchtime 1x
func BenchmarkImportOrders(b *testing.B) {
	if os.Getenv("TEST_DATABASE_URL") == "" {
		b.Skip("TEST_DATABASE_URL is not set")
	}
	lines := 1_000_000
	if v := os.Getenv("LIFT_BENCH_LINES"); v != "" {
		var err error
		lines, err = strconv.Atoi(v)
		require.NoError(b, err)
	}
	dir := b.TempDir()
	bin := filepath.Join(dir, "lift")
	build := exec.Command("go", "build", "-o", bin, ".")
	build.Env = append(os.Environ(), "CGO_ENABLED=0", "GOTOOLCHAIN=local")
	out, err := build.CombinedOutput()
	require.NoError(b, err, "%s", out)

	// A shop: 50,000 customers, 5,000 products, orders of 1 to 5 lines.
	customers := max(lines/20, 10)
	custFile, orderFile := filepath.Join(dir, "customers.csv"), filepath.Join(dir, "orders.csv")
	writeFile(b, custFile, func(w *bufio.Writer) {
		fmt.Fprintln(w, "customer_id,email,marketing_consent,consent_source,consent_at")
		for i := range customers {
			fmt.Fprintf(w, "c%d,c%d@example.com,true,checkout,2024-01-01T00:00:00Z\n", i, i)
		}
	})
	rng := rand.New(rand.NewPCG(1, 2))
	writeFile(b, orderFile, func(w *bufio.Writer) {
		fmt.Fprintln(w, "order_id,customer_id,occurred_at,sku,quantity,price,currency")
		day := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
		for n, o := 0, 0; n < lines; o++ {
			cust := rng.IntN(customers)
			at := day.Add(time.Duration(rng.IntN(300*24*60)) * time.Minute).Format(time.RFC3339)
			start := rng.IntN(5000)
			for k := range min(1+rng.IntN(5), lines-n) {
				fmt.Fprintf(w, "o%d,c%d,%s,sku-%d,%d,%d.%02d,USD\n", o, cust, at, (start+k*7)%5000, 1+rng.IntN(3), 5+rng.IntN(200), rng.IntN(100))
				n++
			}
		}
	})

	store := testdb.Postgres(b)
	gin.SetMode(gin.ReleaseMode)
	bundle := apptest.New(b, store)
	const key = "lift_bench_import_key_0123456789abcdef"
	_, err = bundle.App.BootstrapKey(context.Background(), "bench", key)
	require.NoError(b, err)
	srv := httptest.NewServer(api.NewRouter(api.Deps{App: bundle.App, Store: store, MaxBodyBytes: 1 << 20}))
	defer srv.Close()
	importer := func(kind, file string) (time.Duration, int64, string) {
		cmd := exec.Command(bin, "import", kind, file)
		cmd.Env = append(os.Environ(), "LIFT_API_URL="+srv.URL, "LIFT_API_KEY="+key)
		start := time.Now()
		out, err := cmd.CombinedOutput()
		took := time.Since(start)
		require.NoError(b, err, "%s", out)
		return took, cmd.ProcessState.SysUsage().(*syscall.Rusage).Maxrss / 1024, strings.TrimSpace(string(out))
	}
	_, _, out2 := importer("customers", custFile)
	b.Log(out2)

	// The baselines, in the same run: the same rows COPYed by hand into
	// tables shaped, indexed and constrained like Lift's orders and
	// order_items (headers, then lines: no checks, no idempotence), and
	// the file as it is COPYed into a bare table of its shape (the
	// fastest load PostgreSQL does).
	pg, err := pgx.Connect(context.Background(), testdb.PostgresURL(b))
	require.NoError(b, err)
	defer pg.Close(context.Background())
	_, err = pg.Exec(context.Background(), `
		CREATE TABLE orders (id varchar(128) PRIMARY KEY, customer_id varchar(128) NOT NULL, event_id varchar(128),
			revenue_minor bigint NOT NULL DEFAULT 0, currency varchar(3) NOT NULL, occurred_at timestamptz, created_at timestamptz);
		CREATE INDEX ON orders (customer_id);
		CREATE TABLE order_items (id bigserial PRIMARY KEY, order_id varchar(128) NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
			sku varchar(128) NOT NULL, quantity bigint NOT NULL, price_minor bigint NOT NULL);
		CREATE UNIQUE INDEX ON order_items (order_id, sku); CREATE INDEX ON order_items (order_id); CREATE INDEX ON order_items (sku);
		CREATE TABLE raw_order_lines (order_id text, customer_id text, occurred_at timestamptz, sku text, quantity bigint,
			price numeric, currency text)`)
	require.NoError(b, err)

	b.ResetTimer()
	f, err := os.Open(orderFile)
	require.NoError(b, err)
	lineRows := func() func() ([]any, error) { // the file's lines, as order_items rows
		_, err := f.Seek(0, io.SeekStart)
		require.NoError(b, err)
		r := csv.NewReader(bufio.NewReader(f))
		_, err = r.Read() // the header
		require.NoError(b, err)
		return func() ([]any, error) {
			rec, err := r.Read()
			if errors.Is(err, io.EOF) {
				return nil, nil
			}
			if err != nil {
				return nil, err
			}
			q, _ := strconv.ParseInt(rec[4], 10, 64)
			whole, frac, _ := strings.Cut(rec[5], ".")
			price, _ := strconv.ParseInt(whole+frac, 10, 64)
			at, _ := time.Parse(time.RFC3339, rec[2])
			return []any{rec[0], rec[1], at, rec[3], q, price, rec[6]}, nil
		}
	}
	start := time.Now()
	next := lineRows()
	var head []any
	_, err = pg.CopyFrom(context.Background(), pgx.Identifier{"orders"}, []string{"id", "customer_id", "revenue_minor", "currency", "occurred_at"},
		pgx.CopyFromFunc(func() ([]any, error) { // an order's lines are consecutive: one header each
			for {
				l, err := next()
				if l == nil || err != nil {
					out := head
					head = nil
					return out, err
				}
				if head != nil && head[0] == l[0] {
					head[2] = head[2].(int64) + l[4].(int64)*l[5].(int64)
					continue
				}
				out := head
				head = []any{l[0], l[1], l[4].(int64) * l[5].(int64), l[6], l[2]}
				if out != nil {
					return out, nil
				}
			}
		}))
	require.NoError(b, err)
	next = lineRows()
	n, err := pg.CopyFrom(context.Background(), pgx.Identifier{"order_items"}, []string{"order_id", "sku", "quantity", "price_minor"},
		pgx.CopyFromFunc(func() ([]any, error) {
			l, err := next()
			if l == nil || err != nil {
				return nil, err
			}
			return []any{l[0], l[3], l[4], l[5]}, nil
		}))
	copyTook := time.Since(start)
	require.NoError(b, err)
	require.EqualValues(b, lines, n)
	_, err = f.Seek(0, io.SeekStart)
	require.NoError(b, err)
	start = time.Now()
	tag, err := pg.PgConn().CopyFrom(context.Background(), f, "COPY raw_order_lines FROM STDIN (FORMAT csv, HEADER true)")
	bareTook := time.Since(start)
	require.NoError(b, err)
	require.EqualValues(b, lines, tag.RowsAffected())
	f.Close()

	resetPeakRSS(b)
	importTook, importerRSS, report := importer("orders", orderFile)
	apiRSS := peakRSS(b)
	b.StopTimer()
	require.Contains(b, report, fmt.Sprintf("%d inserted, 0 updated, 0 unchanged, 0 rejected", lines))
	againTook, _, again := importer("orders", orderFile)
	require.Contains(b, again, fmt.Sprintf("0 inserted, 0 updated, %d unchanged, 0 rejected", lines))

	ratio := copyTook.Seconds() / importTook.Seconds()
	b.ReportMetric(copyTook.Seconds(), "copy-s")
	b.ReportMetric(importTook.Seconds(), "import-s")
	b.ReportMetric(ratio, "speed-vs-copy")
	b.ReportMetric(float64(importerRSS), "importer-peak-MiB")
	b.ReportMetric(float64(apiRSS), "api-peak-MiB")
	b.ReportMetric(bareTook.Seconds()/importTook.Seconds(), "speed-vs-bare-copy")
	b.Logf("%d order lines into PostgreSQL: raw COPY into tables like orders and order_items %.1f s (%.0f lines/s); lift import %.1f s (%.0f lines/s): %.2fx the speed of COPY",
		lines, copyTook.Seconds(), float64(lines)/copyTook.Seconds(), importTook.Seconds(), float64(lines)/importTook.Seconds(), ratio)
	b.Logf("the file COPYed as it is into a bare table without indexes: %.1f s (%.0f lines/s): lift import %.2fx that",
		bareTook.Seconds(), float64(lines)/bareTook.Seconds(), bareTook.Seconds()/importTook.Seconds())
	b.Logf("peak RSS: importer %d MiB, API process %d MiB (file %.0f MiB); the same file again: %.1f s, all unchanged",
		importerRSS, apiRSS, fileMiB(b, orderFile), againTook.Seconds())
	b.Log(report)
}

func writeFile(b *testing.B, path string, fill func(*bufio.Writer)) {
	f, err := os.Create(path)
	require.NoError(b, err)
	w := bufio.NewWriterSize(f, 1<<20)
	fill(w)
	require.NoError(b, w.Flush())
	require.NoError(b, f.Close())
}

func fileMiB(b *testing.B, path string) float64 {
	st, err := os.Stat(path)
	require.NoError(b, err)
	return float64(st.Size()) / (1 << 20)
}

// resetPeakRSS resets this process's peak resident set (Linux), so
// peakRSS measures from here.
func resetPeakRSS(b *testing.B) {
	if err := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0); err != nil {
		b.Logf("cannot reset the peak RSS: %v", err)
	}
}

var hwmRE = regexp.MustCompile(`VmHWM:\s+(\d+) kB`)

// peakRSS is this process's peak resident set since resetPeakRSS, in MiB.
func peakRSS(b *testing.B) int64 {
	status, err := os.ReadFile("/proc/self/status")
	require.NoError(b, err)
	m := hwmRE.FindSubmatch(status)
	require.NotNil(b, m)
	kb, _ := strconv.ParseInt(string(m[1]), 10, 64)
	return kb / 1024
}
