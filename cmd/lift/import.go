package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"

	"github.com/lift-hq/lift/internal/app"
	"github.com/lift-hq/lift/internal/say"
)

const importUsage = `usage: lift import customers|products|orders FILE [flags]

Streams FILE (CSV with a header row, or JSON Lines: by extension, .csv or
.jsonl/.ndjson; "-" reads standard input) into POST /v1/imports/KIND.
An import never enrols, signals or sends; the same file again changes
nothing. Exit status: 0 when every row went in, 2 when rows were
rejected (each named by line and field), 3 when the import went in but
the --rebuild that followed failed (a key without the marketer scope,
say), 1 when the import failed.
`

// runImport runs `lift import KIND FILE`.
func runImport(ctx context.Context, args []string, stdin io.Reader, out, errOut io.Writer, isTerminal bool) error {
	fs := flag.NewFlagSet("lift import", flag.ContinueOnError)
	fs.SetOutput(errOut)
	fs.Usage = func() { fmt.Fprint(errOut, importUsage, "\nFlags:\n"); fs.PrintDefaults() }
	client := clientFlags(fs)
	format := fs.String("format", "", "csv or ndjson (default: by the file's extension; standard input: by its first byte)")
	currency := fs.String("currency", "", "a Shopify product export's currency (default USD)")
	shopURL := fs.String("shop-url", "", "a Shopify shop's URL: products link to SHOP_URL/products/<Handle>")
	asJSON := fs.Bool("json", false, "print the API's answer as JSON")
	rebuild := fs.Bool("rebuild", false, "after an orders import, rebuild the recommendations (needs a marketer key)")
	kind, file := "", ""
	if len(args) >= 2 && !strings.HasPrefix(args[0], "-") {
		kind, file, args = args[0], args[1], args[2:]
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if kind == "" || file == "" || fs.NArg() > 0 {
		fs.Usage()
		return &exitError{code: 1, msg: "lift import needs a kind and a file"}
	}
	c, err := client()
	if err != nil {
		return err
	}
	var src io.Reader
	var size int64 = -1
	if file == "-" {
		src = stdin
	} else {
		f, err := os.Open(file)
		if err != nil {
			return err
		}
		defer f.Close()
		if st, err := f.Stat(); err == nil && st.Mode().IsRegular() {
			size = st.Size()
		}
		src = f
	}
	br := bufio.NewReaderSize(src, 64<<10)
	if *format == "" {
		*format = formatOf(file, br)
	}
	contentType := map[string]string{app.FormatCSV: "text/csv", app.FormatNDJSON: "application/x-ndjson"}[*format]
	if contentType == "" {
		return fmt.Errorf("--format must be csv or ndjson, got %q", *format)
	}

	// Progress: a bar on a terminal, a line every ten seconds otherwise.
	var sent atomic.Int64
	body := &countingReader{r: br, n: &sent}
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		showProgress(kind, size, &sent, errOut, isTerminal, stop)
	}()
	q := url.Values{}
	if *currency != "" {
		q.Set("currency", *currency)
	}
	if *shopURL != "" {
		q.Set("shop_url", *shopURL)
	}
	path := "/v1/imports/" + url.PathEscape(kind)
	if len(q) > 0 {
		path += "?" + q.Encode()
	}
	var res app.ImportResult
	_, err = c.do(ctx, "POST", path, contentType, body, &res)
	close(stop)
	<-done
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		if err := enc.Encode(res); err != nil {
			return err
		}
	} else {
		writeImportReport(out, res)
	}
	var rebuildErr error
	if *rebuild && kind == app.ImportOrders {
		rebuildErr = followRebuild(ctx, c, out)
	}
	switch {
	case res.Rejected > 0:
		return &exitError{code: 2, msg: plural(res.Rejected, "row") + " rejected"}
	case rebuildErr != nil:
		return &exitError{code: 3, msg: "the import went in, but the recommendations were not rebuilt: " + rebuildErr.Error()}
	}
	return nil
}

// followRebuild starts the recommendation rebuild and waits for it,
// saying what the new model learned.
func followRebuild(ctx context.Context, c *apiClient, out io.Writer) error {
	var st app.RebuildStatus
	if _, err := c.do(ctx, "POST", "/v1/recommendations/rebuild", "", nil, &st); err != nil {
		return err
	}
	// Until a rebuild that finished after this one was asked for (the
	// worker may not have picked it up at the first look).
	asked := time.Now().Add(-time.Minute) // the API's clock may be behind
	deadline := time.Now().Add(40 * time.Minute)
	for st.State == "running" || st.FinishedAt == nil || st.FinishedAt.Before(asked) {
		if time.Now().After(deadline) {
			return errors.New("the rebuild did not finish in 40 minutes: GET /v1/recommendations/rebuild says how it stands")
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Second):
		}
		if _, err := c.do(ctx, "GET", "/v1/recommendations/rebuild", "", nil, &st); err != nil {
			return err
		}
	}
	if st.State == "failed" {
		return errors.New(st.Error)
	}
	if m := st.Model; m != nil {
		fmt.Fprintf(out, "recommendations rebuilt: %s bought together, %s from the customers' model, from %s of %s (%d ms); auto stands for %s\n",
			plural(m.Pairs, "product pair"), plural(m.SimilarPairs, "pair"), plural(m.Orders, "order"), plural(m.Customers, "customer"), st.TookMS, st.Auto.Strategy)
	}
	return nil
}

// formatOf picks a file's format by its extension, or standard input's
// by its first byte ({ is JSON Lines).
func formatOf(file string, br *bufio.Reader) string {
	switch strings.ToLower(filepath.Ext(file)) {
	case ".csv":
		return app.FormatCSV
	case ".jsonl", ".ndjson":
		return app.FormatNDJSON
	}
	head, _ := br.Peek(512)
	head = bytes.TrimLeft(bytes.TrimPrefix(head, []byte("\xef\xbb\xbf")), " \t\r\n")
	if len(head) > 0 && head[0] == '{' {
		return app.FormatNDJSON
	}
	return app.FormatCSV
}

func writeImportReport(w io.Writer, r app.ImportResult) {
	fmt.Fprintf(w, "%s: %d rows in %.1f s: %d inserted, %d updated, %d unchanged, %d rejected",
		r.Kind, r.Rows, float64(r.TookMS)/1000, r.Inserted, r.Updated, r.Unchanged, r.Rejected)
	if r.Skipped > 0 {
		fmt.Fprintf(w, ", %d skipped (nothing to import)", r.Skipped)
	}
	if r.UnknownSKULines > 0 {
		ex := r.UnknownSKUs
		more := ""
		if len(ex) > 5 {
			ex, more = ex[:5], ", …"
		}
		fmt.Fprintf(w, "; %s of products the catalogue does not hold (%s%s): imported, never recommended; import the products",
			plural(r.UnknownSKULines, "line"), strings.Join(ex, ", "), more)
	}
	if r.Merged > 0 {
		fmt.Fprintf(w, ", %s merged (another line of a SKU already in its order: quantities summed)", plural(r.Merged, "row"))
	}
	fmt.Fprintln(w)
	for _, e := range r.Errors {
		field := e.Field
		if field == "" {
			field = "row"
		}
		fmt.Fprintf(w, "line %d: %s: %s\n", e.Line, field, e.Message)
	}
	if r.ErrorsTruncated {
		fmt.Fprintf(w, "… and %d more rejected rows (the first %d are listed)\n", r.Rejected-int64(len(r.Errors)), len(r.Errors))
	}
}

type countingReader struct {
	r io.Reader
	n *atomic.Int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}

// showProgress reports the bytes sent until stop closes: a progress bar
// (schollz/progressbar) on a terminal, plain lines otherwise.
func showProgress(kind string, size int64, sent *atomic.Int64, w io.Writer, isTerminal bool, stop <-chan struct{}) {
	if isTerminal {
		bar := progressbar.NewOptions64(size,
			progressbar.OptionSetWriter(w),
			progressbar.OptionSetDescription("importing "+kind),
			progressbar.OptionShowBytes(true),
			progressbar.OptionSetWidth(30),
			progressbar.OptionThrottle(100*time.Millisecond),
			progressbar.OptionShowCount(),
			progressbar.OptionClearOnFinish(),
		)
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-stop:
				_ = bar.Set64(sent.Load())
				_ = bar.Finish()
				return
			case <-t.C:
				_ = bar.Set64(sent.Load())
			}
		}
	}
	t := time.NewTicker(10 * time.Second)
	defer t.Stop()
	start := time.Now()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
			n := sent.Load()
			if size > 0 {
				fmt.Fprintf(w, "importing %s: %s of %s sent (%.0f%%), %s\n", kind, mib(n), mib(size), 100*float64(n)/float64(size), time.Since(start).Round(time.Second))
			} else {
				fmt.Fprintf(w, "importing %s: %s sent, %s\n", kind, mib(n), time.Since(start).Round(time.Second))
			}
		}
	}
}

// plural is "1 row", "2 rows".
func plural(n int64, what string) string { return say.Plural(n, what) }

func mib(n int64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }

// stderrIsTerminal reports whether progress goes to a person.
func stderrIsTerminal() bool { return term.IsTerminal(int(os.Stderr.Fd())) }
