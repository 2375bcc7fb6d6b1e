package app

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/text/language"

	"github.com/lift-hq/lift/internal/domain"
	"github.com/lift-hq/lift/internal/errs"
	"github.com/lift-hq/lift/internal/money"
	"github.com/lift-hq/lift/models"
)

// Bulk import loads a shop's history (customers with their consent
// records, the catalogue, past orders) from CSV or JSON Lines of any
// length. It reads a chunk of rows, checks each row, writes the good ones
// in one transaction and goes on: memory stays flat, a bad row is named
// by its line and field and does not stop the others, and the same file
// imported again changes nothing. An import never records an event, so it
// enrols no one, signals nothing and sends nothing.

// Import kinds: what a file holds.
const (
	ImportCustomers = "customers"
	ImportProducts  = "products"
	ImportOrders    = "orders"
)

// ImportKinds lists the kinds, for messages.
var ImportKinds = []string{ImportCustomers, ImportProducts, ImportOrders}

// Import formats.
const (
	FormatCSV    = "csv"
	FormatNDJSON = "ndjson"
)

// MaxImportLine is the longest record an import reads (64 KiB): a JSON
// line, or a CSV record however many lines its quoted fields span. A
// longer one stops the import, so no record is ever held whole past it.
const MaxImportLine = 64 << 10

// MaxImportErrors is how many rejected rows an import lists; it counts
// them all.
const MaxImportErrors = 1000

// ImportOptions tune an import.
type ImportOptions struct {
	// ChunkRows is how many rows go in one transaction (default 10,000
	// order lines, 1,000 customers or products).
	ChunkRows int
	// Progress, when set, is called after each chunk with the rows read
	// so far (the API extends the request's deadlines with it).
	Progress func(rows int64)
	// Currency and ShopURL complete a Shopify product export, which
	// carries neither: prices are in Currency (default USD) and a
	// product's page is ShopURL/products/<Handle>.
	Currency string
	ShopURL  string
}

// ImportResult is what an import did, row by row.
type ImportResult struct {
	Kind   string `json:"kind"`
	Format string `json:"format"`
	// Rows is the data rows read (a CSV header is not one).
	Rows      int64 `json:"rows"`
	Inserted  int64 `json:"inserted"`
	Updated   int64 `json:"updated"`
	Unchanged int64 `json:"unchanged"`
	Rejected  int64 `json:"rejected"`
	// Skipped rows carry nothing to import (a Shopify export's image
	// rows).
	Skipped int64 `json:"skipped"`
	// UnknownSKULines are order lines of products the catalogue does not
	// hold (imported, but never recommended); UnknownSKUs names the first
	// MaxImportErrors of them.
	UnknownSKULines int64    `json:"unknown_sku_lines"`
	UnknownSKUs     []string `json:"unknown_skus,omitempty"`
	// Merged rows were another line of a SKU already in their order (in
	// the same chunk): their quantities are summed into one line, at the
	// average unit price, so the order's total is kept.
	Merged int64 `json:"merged"`
	// Errors lists the first MaxImportErrors rejected rows.
	Errors          []RowError `json:"errors"`
	ErrorsTruncated bool       `json:"errors_truncated,omitempty"`
	TookMS          int64      `json:"took_ms"`
}

// RowError is a rejected row: its line in the file (1 is the first line,
// a CSV header included), the column and why.
type RowError struct {
	Line    int64  `json:"line"`
	Field   string `json:"field"`
	Message string `json:"message"`
}

func (r *ImportResult) reject(line int64, field, message string) {
	r.Rejected++
	if len(r.Errors) < MaxImportErrors {
		r.Errors = append(r.Errors, RowError{Line: line, Field: field, Message: message})
	} else {
		r.ErrorsTruncated = true
	}
}

func (r *ImportResult) rejectErr(line int64, err error) {
	e, _ := errs.As(err)
	if e == nil {
		r.reject(line, "", err.Error())
		return
	}
	r.reject(line, e.Field, e.Message)
}

func (r *ImportResult) add(c models.ImportCounts) {
	r.UnknownSKULines += c.UnknownLines
	for _, sku := range c.UnknownSKUs {
		if len(r.UnknownSKUs) < MaxImportErrors && !slices.Contains(r.UnknownSKUs, sku) {
			r.UnknownSKUs = append(r.UnknownSKUs, sku)
		}
	}
	r.Inserted += c.Inserted
	r.Updated += c.Updated
	r.Unchanged += c.Unchanged
	for _, j := range c.Rejected {
		r.reject(j.Line, j.Field, j.Message)
	}
}

// Import reads body (CSV with a header row, or JSON Lines) and stores
// its rows by kind. A problem with the file as a whole (an unknown kind
// or column, a line longer than MaxImportLine, a broken connection) ends
// the import with an error; the chunks before it stay stored, and running
// the import again completes it.
func (a *App) Import(ctx context.Context, kind, format string, body io.Reader, opt ImportOptions) (res ImportResult, err error) {
	start := time.Now()
	res = ImportResult{Kind: kind, Format: format, Errors: []RowError{}}
	if !slices.Contains(ImportKinds, kind) {
		return res, errs.Field(errs.NotFound, "kind", "unknown import %q (one of %s)", kind, strings.Join(ImportKinds, ", "))
	}
	if opt.ShopURL != "" && !validURL(opt.ShopURL) {
		return res, errs.Field(errs.Invalid, "shop_url", "must be an absolute http(s) URL")
	}
	opt.Currency = cmp.Or(opt.Currency, "USD")
	if err := checkCurrency("currency", opt.Currency); err != nil {
		return res, err
	}
	src, err := newRowSource(format, body)
	if err != nil {
		return res, err
	}
	var im importer
	switch kind {
	case ImportCustomers:
		im = &customerImporter{a: a}
	case ImportProducts:
		im = &productImporter{a: a, opt: opt}
	default:
		im = &orderImporter{a: a}
	}
	if err := im.columns(src); err != nil {
		return res, err
	}
	chunk := opt.ChunkRows
	if chunk <= 0 {
		chunk = im.chunk()
	}
	defer func() {
		res.TookMS = time.Since(start).Milliseconds()
		// The database's refusals come with their chunk: in file order.
		slices.SortStableFunc(res.Errors, func(a, b RowError) int { return cmp.Compare(a.Line, b.Line) })
	}()
	// A chunk is written while the next one is read and checked: the
	// database and the parser each keep a core busy. One write is in
	// flight at a time, so chunks commit in file order.
	pending := 0
	var inflight chan flushed
	wait := func() error {
		if inflight == nil {
			return nil
		}
		f := <-inflight
		inflight = nil
		if f.err != nil {
			return f.err
		}
		res.add(f.counts)
		if opt.Progress != nil {
			opt.Progress(res.Rows)
		}
		return nil
	}
	flush := func() error {
		if err := wait(); err != nil || pending == 0 {
			return err
		}
		write := im.take()
		pending = 0
		inflight = make(chan flushed, 1)
		go func(ch chan<- flushed) {
			var f flushed
			func() {
				defer errs.Recover(&f.err)
				f.counts, f.err = write(ctx)
			}()
			ch <- f
		}(inflight)
		return nil
	}
	defer func() {
		if werr := wait(); err == nil {
			err = werr
		}
	}()
	for {
		if err := ctx.Err(); err != nil {
			return res, err
		}
		line, rec, err := src.next()
		if errors.Is(err, io.EOF) {
			break
		}
		var rowErr *RowError
		if errors.As(err, &rowErr) {
			res.Rows++
			res.reject(rowErr.Line, rowErr.Field, rowErr.Message)
			continue
		}
		if err != nil {
			return res, err
		}
		res.Rows++
		added, err := im.add(line, rec)
		switch {
		case err != nil:
			res.rejectErr(line, err)
			continue
		case !added:
			if m, ok := im.(interface{ tookMerged() bool }); ok && m.tookMerged() {
				res.Merged++
				continue
			}
			res.Skipped++
			continue
		}
		if pending++; pending >= chunk {
			if err := flush(); err != nil {
				return res, err
			}
		}
	}
	return res, flush()
}

// A row is a record's values by column name.
type row map[string]string

// rowSource reads rows with their line numbers; a row it cannot read is
// a *RowError and the next call goes on.
type rowSource interface {
	header() []string // the CSV header, nil for JSON Lines
	next() (int64, row, error)
}

func newRowSource(format string, body io.Reader) (rowSource, error) {
	br := bufio.NewReaderSize(&lineLimit{r: body, csv: format == FormatCSV}, 64<<10)
	// Spreadsheets start UTF-8 files with a byte-order mark.
	if b, err := br.Peek(3); err == nil && bytes.Equal(b, []byte("\xef\xbb\xbf")) {
		_, _ = br.Discard(3)
	}
	switch format {
	case FormatCSV:
		r := csv.NewReader(br)
		r.FieldsPerRecord = -1
		r.ReuseRecord = true
		head, err := r.Read()
		if errors.Is(err, io.EOF) {
			return nil, errs.Field(errs.Invalid, "header", "the file is empty: a CSV import starts with a header row")
		}
		if err != nil {
			return nil, fileError(err)
		}
		cols := make([]string, len(head))
		for i, h := range head {
			cols[i] = strings.TrimSpace(h)
		}
		return &csvSource{r: r, cols: cols}, nil
	case FormatNDJSON:
		sc := bufio.NewScanner(br)
		sc.Buffer(make([]byte, 0, 64<<10), MaxImportLine+1)
		return &ndjsonSource{sc: sc}, nil
	}
	return nil, errs.Field(errs.Invalid, "format", "must be csv or ndjson")
}

// fileError names what stopped reading the file.
func fileError(err error) error {
	var long *lineTooLong
	if errors.As(err, &long) || errors.Is(err, bufio.ErrTooLong) {
		return errs.E(errs.TooLarge, "a record is longer than %d bytes (a line, or a quoted field that runs on over lines): is this the right file?", MaxImportLine)
	}
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return errs.Field(errs.Invalid, "header", "line %d: %v", pe.StartLine, pe.Err)
	}
	return err
}

type csvSource struct {
	r    *csv.Reader
	cols []string
}

func (s *csvSource) header() []string { return s.cols }

func (s *csvSource) next() (int64, row, error) {
	rec, err := s.r.Read()
	var pe *csv.ParseError
	if errors.As(err, &pe) && !errors.Is(err, csv.ErrFieldCount) {
		return int64(pe.StartLine), nil, &RowError{Line: int64(pe.StartLine), Field: "", Message: pe.Err.Error()}
	}
	if err != nil && !errors.Is(err, csv.ErrFieldCount) {
		if errors.Is(err, io.EOF) {
			return 0, nil, io.EOF
		}
		return 0, nil, fileError(err)
	}
	line, _ := s.r.FieldPos(0) // rec holds at least one field here
	if len(rec) != len(s.cols) {
		return int64(line), nil, &RowError{Line: int64(line), Message: fmt.Sprintf("has %d fields and the header %d", len(rec), len(s.cols))}
	}
	out := make(row, len(rec))
	for i, v := range rec {
		if v != "" {
			out[s.cols[i]] = v
		}
	}
	return int64(line), out, nil
}

type ndjsonSource struct {
	sc   *bufio.Scanner
	line int64
}

func (s *ndjsonSource) header() []string { return nil }

func (s *ndjsonSource) next() (int64, row, error) {
	for s.sc.Scan() {
		s.line++
		b := bytes.TrimSpace(s.sc.Bytes())
		if len(b) == 0 {
			continue
		}
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.UseNumber()
		var obj map[string]any
		if err := dec.Decode(&obj); err != nil || dec.More() {
			return s.line, nil, &RowError{Line: s.line, Message: "is not one JSON object"}
		}
		out := make(row, len(obj))
		for k, v := range obj {
			switch x := v.(type) {
			case nil:
			case string:
				if x != "" {
					out[k] = x
				}
			case json.Number:
				out[k] = x.String()
			case bool:
				out[k] = strconv.FormatBool(x)
			case []any:
				parts := make([]string, len(x))
				for i, e := range x {
					str, ok := e.(string)
					if !ok || strings.Contains(str, ";") {
						return s.line, nil, &RowError{Line: s.line, Field: k, Message: "must be a list of strings without ;"}
					}
					parts[i] = str
				}
				out[k] = strings.Join(parts, ";")
			default:
				return s.line, nil, &RowError{Line: s.line, Field: k, Message: "must be a string, a number, a boolean or a list of strings"}
			}
		}
		return s.line, out, nil
	}
	if err := s.sc.Err(); err != nil {
		return 0, nil, fileError(err)
	}
	return 0, nil, io.EOF
}

func (e *RowError) Error() string { return fmt.Sprintf("line %d: %s %s", e.Line, e.Field, e.Message) }

// lineLimit fails a read once a record runs past MaxImportLine bytes, so
// a file without newlines, or a CSV field whose quote never closes (a
// hostile one), cannot make the reader hold it whole. For CSV a newline
// inside quotes does not end the record: a doubled quote ("") inside a
// quoted field toggles the state twice, which leaves it as it was.
type lineLimit struct {
	r      io.Reader
	run    int
	csv    bool
	quoted bool
}

type lineTooLong struct{}

func (*lineTooLong) Error() string { return "line too long" }

func (l *lineLimit) Read(p []byte) (int, error) {
	n, err := l.r.Read(p)
	for _, b := range p[:n] {
		switch {
		case b == '"' && l.csv:
			l.quoted = !l.quoted
		case b == '\n' && !l.quoted:
			l.run = 0
			continue
		}
		if l.run++; l.run > MaxImportLine {
			return 0, &lineTooLong{}
		}
	}
	return n, err
}

// An importer checks rows of one kind and writes them a chunk at a time.
type importer interface {
	columns(src rowSource) error
	chunk() int
	// add checks a row and holds it for the next flush; false: the row
	// has nothing to import.
	add(line int64, r row) (bool, error)
	// take hands over the rows held so far, as a write to run while
	// the next rows are read.
	take() func(context.Context) (models.ImportCounts, error)
}

type flushed struct {
	counts models.ImportCounts
	err    error
}

// checkColumns refuses unknown columns, so a misspelt one is not
// silently dropped, and requires the required ones.
func checkColumns(cols []string, known, required []string) error {
	if cols == nil {
		return nil
	}
	for _, c := range cols {
		if !slices.Contains(known, c) {
			return errs.Field(errs.Invalid, "header", "unknown column %q (columns: %s)", c, strings.Join(known, ","))
		}
	}
	for _, c := range required {
		if !slices.Contains(cols, c) {
			return errs.Field(errs.Invalid, "header", "the %q column is required (columns: %s)", c, strings.Join(known, ","))
		}
	}
	return nil
}

// checkKeys is checkColumns for one JSON Lines record.
func checkKeys(r row, known []string) error {
	for k := range r {
		if !slices.Contains(known, k) {
			return errs.Field(errs.Invalid, k, "unknown field (fields: %s)", strings.Join(known, ","))
		}
	}
	return nil
}

func required(r row, field string) (string, error) {
	v := strings.TrimSpace(r[field])
	if v == "" {
		return "", errs.Field(errs.Invalid, field, "is required")
	}
	return v, nil
}

// parseBool reads true/false, yes/no or 1/0; "" is unset.
func parseBool(field, v string) (*bool, error) {
	var b bool
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "":
		return nil, nil
	case "true", "yes", "1", "y":
		b = true
	case "false", "no", "0", "n":
	default:
		return nil, errs.Field(errs.Invalid, field, "must be true or false")
	}
	return &b, nil
}

// parseTime reads RFC 3339, Shopify's "2006-01-02 15:04:05 -0700" or a
// date (midnight UTC), and refuses the future.
func parseTime(field, v string, now time.Time) (time.Time, error) {
	v = strings.TrimSpace(v)
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02 15:04:05 -0700", "2006-01-02"} {
		if t, err := time.Parse(layout, v); err == nil {
			if t.After(now.Add(time.Hour)) {
				return time.Time{}, errs.Field(errs.Invalid, field, "is in the future")
			}
			return t.UTC().Truncate(time.Microsecond), nil // what both databases keep
		}
	}
	return time.Time{}, errs.Field(errs.Invalid, field, "must be an RFC 3339 time like 2025-05-04T10:00:00Z, or a date like 2025-05-04")
}

// --- customers ---

var customerColumns = []string{"customer_id", "email", "name", "timezone", "locale", "country", "tier",
	"marketing_consent", "consent_basis", "consent_source", "consent_at"}

type customerImporter struct {
	a    *App
	rows []models.CustomerImport
	seen map[string]int64 // customer ID -> line, in this chunk
}

func (im *customerImporter) chunk() int { return 1000 }

func (im *customerImporter) columns(src rowSource) error {
	return checkColumns(src.header(), customerColumns, []string{"customer_id", "email"})
}

func (im *customerImporter) add(line int64, r row) (bool, error) {
	if err := checkKeys(r, customerColumns); err != nil {
		return false, err
	}
	id, err := required(r, "customer_id")
	if err == nil {
		err = validCustomerID("customer_id", id)
	}
	if err != nil {
		return false, err
	}
	email, err := required(r, "email")
	if err == nil {
		email, err = PlainEmail("email", email)
	}
	if err == nil {
		err = firstErr(checkText("email", email, 320), checkText("name", r["name"], 200), checkText("tier", r["tier"], 64),
			checkText("consent_source", r["consent_source"], 200))
	}
	if err != nil {
		return false, err
	}
	c := models.Customer{ID: id, Email: email, Name: strings.TrimSpace(r["name"]), Timezone: cmp.Or(r["timezone"], "UTC"),
		Locale: cmp.Or(r["locale"], "en"), Country: strings.ToUpper(r["country"]), Tier: r["tier"]}
	if _, err := time.LoadLocation(c.Timezone); err != nil || c.Timezone == "Local" || len(c.Timezone) > 64 {
		return false, errs.Field(errs.Invalid, "timezone", "must be an IANA time zone like Europe/Paris")
	}
	if _, err := language.Parse(c.Locale); err != nil || len(c.Locale) > 35 {
		return false, errs.Field(errs.Invalid, "locale", "must be a BCP 47 tag like en or de-CH")
	}
	if c.Country != "" && !countryRE.MatchString(c.Country) {
		return false, errs.Field(errs.Invalid, "country", "must be an ISO 3166-1 alpha-2 code like DE")
	}
	consent, err := parseBool("marketing_consent", r["marketing_consent"])
	if err != nil {
		return false, err
	}
	imp := models.CustomerImport{Line: line, Customer: c}
	switch {
	case consent == nil && (r["consent_source"] != "" || r["consent_at"] != "" || r["consent_basis"] != ""):
		return false, errs.Field(errs.Invalid, "marketing_consent", "is required with consent_source, consent_at or consent_basis")
	case consent != nil:
		// Consent is a record of what the customer did: never inferred.
		source, err := required(r, "consent_source")
		if err != nil {
			return false, errs.Field(errs.Invalid, "consent_source", "is required with marketing_consent: where consent was given or withdrawn")
		}
		raw, err := required(r, "consent_at")
		if err != nil {
			return false, errs.Field(errs.Invalid, "consent_at", "is required with marketing_consent: when consent was given or withdrawn")
		}
		at, err := parseTime("consent_at", raw, im.a.now())
		if err != nil {
			return false, err
		}
		basis := domain.ConsentBasis(r["consent_basis"])
		in := CustomerInput{MarketingConsent: consent, ConsentBasis: basis}
		if err := validateConsent(&in); err != nil {
			return false, err
		}
		imp.Consent = &models.ConsentRecord{Granted: *consent, Basis: in.ConsentBasis, Source: source, At: at}
	}
	if prev, dup := im.seen[id]; dup {
		return false, errs.Field(errs.Invalid, "customer_id", "%q is already on line %d", id, prev)
	}
	if im.seen == nil {
		im.seen = map[string]int64{}
	}
	im.seen[id] = line
	im.rows = append(im.rows, imp)
	return true, nil
}

func (im *customerImporter) take() func(context.Context) (models.ImportCounts, error) {
	rows := im.rows
	im.rows, im.seen = nil, nil
	return func(ctx context.Context) (models.ImportCounts, error) {
		counts, err := im.a.Store.ImportCustomers(ctx, rows)
		if err == nil {
			ids := make([]string, len(rows))
			for i, r := range rows {
				ids[i] = r.Customer.ID
			}
			im.a.applyHeldFor(ctx, ids) // events that came before them
		}
		return counts, err
	}
}

// --- products ---

var productColumns = []string{"sku", "name", "category", "price", "currency", "url", "image_url", "in_stock", "tier_rank", "complements"}

// shopifyColumns are the columns of Shopify's product export Lift reads;
// the export's other columns are ignored.
var shopifyColumns = []string{"Handle", "Title", "Type", "Tags", "Variant SKU", "Variant Price", "Variant Inventory Qty",
	"Image Src", "Image Alt Text", "Option1 Value", "Variant Image"}

type productImporter struct {
	a       *App
	opt     ImportOptions
	shopify bool
	// The Shopify product a variant row belongs to: the first row of a
	// handle carries its title, type and image.
	handle, title, kind, image string
	rows                       []models.ProductImport
	seen                       map[string]int64
}

func (im *productImporter) chunk() int { return 1000 }

func (im *productImporter) columns(src rowSource) error {
	cols := src.header()
	if slices.Contains(cols, "Handle") && slices.Contains(cols, "Variant SKU") {
		im.shopify = true
		return nil
	}
	return checkColumns(cols, productColumns, []string{"sku", "name"})
}

func (im *productImporter) add(line int64, r row) (bool, error) {
	if im.shopify {
		var ok bool
		var err error
		if r, ok, err = im.fromShopify(r); err != nil || !ok {
			return false, err
		}
	} else if err := checkKeys(r, productColumns); err != nil {
		return false, err
	}
	in := ProductInput{Name: r["name"], Category: r["category"], Price: json.Number(cmp.Or(r["price"], "0")),
		Currency: cmp.Or(r["currency"], "USD"), URL: r["url"], ImageURL: r["image_url"]}
	if r["complements"] != "" {
		for c := range strings.SplitSeq(r["complements"], ";") {
			if c = strings.TrimSpace(c); c != "" {
				in.Complements = append(in.Complements, c)
			}
		}
	}
	inStock, err := parseBool("in_stock", r["in_stock"])
	if err != nil {
		return false, err
	}
	in.InStock = inStock
	if v := r["tier_rank"]; v != "" {
		if in.TierRank, err = strconv.Atoi(v); err != nil {
			return false, errs.Field(errs.Invalid, "tier_rank", "must be a whole number from 0 (no ladder) to 100")
		}
	}
	sku, err := required(r, "sku")
	if err != nil {
		return false, err
	}
	p, err := im.a.checkProduct(sku, in)
	if err != nil {
		if im.shopify {
			err = shopifyField(err)
		}
		return false, err
	}
	if prev, dup := im.seen[sku]; dup {
		return false, errs.Field(errs.Invalid, "sku", "%q is already on line %d", sku, prev)
	}
	if im.seen == nil {
		im.seen = map[string]int64{}
	}
	im.seen[sku] = line
	im.rows = append(im.rows, models.ProductImport{Line: line, Product: *p})
	return true, nil
}

// fromShopify turns a row of Shopify's product export into Lift's
// columns: one product per variant, keyed by its SKU, named after the
// product (and the variant's option), in the product's type.
func (im *productImporter) fromShopify(r row) (row, bool, error) {
	handle := r["Handle"]
	if handle == "" {
		return nil, false, errs.Field(errs.Invalid, "Handle", "is required")
	}
	if handle != im.handle {
		im.handle, im.title, im.kind, im.image = handle, r["Title"], r["Type"], r["Image Src"]
		if im.kind == "" { // no type: the first tag stands in
			im.kind, _, _ = strings.Cut(r["Tags"], ",")
			im.kind = strings.TrimSpace(im.kind)
		}
	}
	if im.image == "" {
		im.image = r["Image Src"]
	}
	sku := r["Variant SKU"]
	if sku == "" {
		if r["Variant Price"] == "" {
			return nil, false, nil // an image row
		}
		return nil, false, errs.Field(errs.Invalid, "Variant SKU", "is empty: Lift knows products by SKU")
	}
	name := im.title
	if opt := r["Option1 Value"]; opt != "" && opt != "Default Title" {
		name += " – " + opt
	}
	out := row{"sku": sku, "name": name, "category": im.kind, "price": r["Variant Price"], "currency": im.opt.Currency,
		"image_url": cmp.Or(r["Variant Image"], im.image)}
	if im.opt.ShopURL != "" {
		out["url"] = strings.TrimRight(im.opt.ShopURL, "/") + "/products/" + handle
	}
	if q := r["Variant Inventory Qty"]; q != "" {
		n, err := strconv.Atoi(q)
		if err != nil {
			return nil, false, errs.Field(errs.Invalid, "Variant Inventory Qty", "must be a whole number")
		}
		out["in_stock"] = strconv.FormatBool(n > 0)
	}
	return out, true, nil
}

// shopifyField names a Shopify column in an error about its Lift field.
func shopifyField(err error) error {
	e, ok := errs.As(err)
	if !ok {
		return err
	}
	names := map[string]string{"sku": "Variant SKU", "name": "Title", "category": "Type", "price": "Variant Price",
		"image_url": "Image Src", "url": "Handle", "in_stock": "Variant Inventory Qty"}
	if n, ok := names[e.Field]; ok {
		return errs.Field(e.Code, n, "%s", e.Message)
	}
	return err
}

func (im *productImporter) take() func(context.Context) (models.ImportCounts, error) {
	rows := im.rows
	im.rows, im.seen = nil, nil
	return func(ctx context.Context) (models.ImportCounts, error) { return im.a.Store.ImportProducts(ctx, rows) }
}

// --- orders ---

// orderColumns: price is the unit price; an export whose amount is the
// line's total (Superstore's Sales, say) gives line_total instead, and
// Lift divides it by the quantity.
var orderColumns = []string{"order_id", "customer_id", "occurred_at", "sku", "quantity", "price", "line_total", "currency"}

type orderImporter struct {
	a     *App
	lines []models.OrderLine
	// In this chunk: each order's header and first line, and its lines.
	orders map[string]orderHead
	items  map[[2]string]int // (order, SKU) -> index in lines
	merged bool              // the last row added was merged into another
}

// tookMerged says whether the last row was merged into an earlier line.
func (im *orderImporter) tookMerged() bool {
	m := im.merged
	im.merged = false
	return m
}

type orderHead struct {
	line     int64
	customer string
	at       time.Time
	currency string
	lines    int   // in this chunk
	total    int64 // of its lines in this chunk, in minor units
}

func (im *orderImporter) chunk() int { return 20000 }

func (im *orderImporter) columns(src rowSource) error {
	cols := src.header()
	if err := checkColumns(cols, orderColumns, []string{"order_id", "customer_id", "occurred_at", "sku", "quantity"}); err != nil {
		return err
	}
	if cols != nil && slices.Contains(cols, "price") == slices.Contains(cols, "line_total") {
		return errs.Field(errs.Invalid, "header", "give price (the unit price) or line_total (the line's total, divided by the quantity), one of them")
	}
	return nil
}

func (im *orderImporter) add(line int64, r row) (bool, error) {
	if err := checkKeys(r, orderColumns); err != nil {
		return false, err
	}
	var l models.OrderLine
	l.Line = line
	var err error
	for _, f := range []struct {
		field string
		dst   *string
	}{{"order_id", &l.OrderID}, {"customer_id", &l.CustomerID}, {"sku", &l.SKU}} {
		*f.dst = r[f.field]
		if err := validID(f.field, *f.dst); err != nil {
			return false, err
		}
	}
	if l.OccurredAt, err = parseTime("occurred_at", r["occurred_at"], im.a.now()); err != nil {
		return false, err
	}
	l.Currency = cmp.Or(r["currency"], "USD")
	if err := checkCurrency("currency", l.Currency); err != nil {
		return false, err
	}
	q, err := strconv.ParseInt(r["quantity"], 10, 64)
	if err != nil || q < 1 || q > maxQuantity {
		return false, errs.Field(errs.Invalid, "quantity", "must be a whole number from 1 to %d", maxQuantity)
	}
	l.Quantity = q
	price, hasPrice := r["price"]
	total, hasTotal := r["line_total"]
	switch {
	case hasPrice && hasTotal:
		return false, errs.Field(errs.Invalid, "line_total", "give price (the unit price) or line_total, not both")
	case hasTotal:
		t, err := toMinor("line_total", json.Number(total), l.Currency)
		if err != nil {
			return false, err
		}
		l.PriceMinor = (t + q/2) / q // the unit price, rounded to the currency's minor unit
	case !hasPrice:
		return false, errs.Field(errs.Invalid, "price", "is required: the unit price (or line_total, the line's total)")
	default:
		if l.PriceMinor, err = toMinor("price", json.Number(price), l.Currency); err != nil {
			return false, err
		}
	}
	if l.PriceMinor < 0 {
		return false, errs.Field(errs.Invalid, "price", "must be a non-negative amount")
	}
	if l.PriceMinor > 0 && q > money.MaxMinor(l.Currency)/l.PriceMinor {
		return false, errs.Field(errs.Invalid, "quantity", "the line totals more than %g %s", money.Max, l.Currency)
	}
	// The order's header repeats on each line: it must agree.
	if im.orders == nil {
		im.orders, im.items = map[string]orderHead{}, map[[2]string]int{}
	}
	h, ok := im.orders[l.OrderID]
	if ok {
		switch {
		case h.customer != l.CustomerID:
			return false, errs.Field(errs.Invalid, "customer_id", "differs from line %d of the same order", h.line)
		case !h.at.Equal(l.OccurredAt):
			return false, errs.Field(errs.Invalid, "occurred_at", "differs from line %d of the same order", h.line)
		case h.currency != l.Currency:
			return false, errs.Field(errs.Invalid, "currency", "differs from line %d of the same order", h.line)
		}
	} else {
		h = orderHead{line: line, customer: l.CustomerID, at: l.OccurredAt, currency: l.Currency}
	}
	key := [2]string{l.OrderID, l.SKU}
	if i, dup := im.items[key]; dup {
		return im.merge(&im.lines[i], l, h)
	}
	// The same bounds as an event's, checked before anything is stored:
	// the lines of one order, and its total (the stored lines of an order
	// an earlier chunk or import began are counted when the chunk is
	// written, models.ImportOrderLines).
	if h.lines >= domain.MaxOrderLines {
		return false, errs.Field(errs.Invalid, "order_id", "order %q already has %d lines: an order holds at most %d", l.OrderID, h.lines, domain.MaxOrderLines)
	}
	if limit := money.MaxMinor(l.Currency); l.Quantity*l.PriceMinor > limit-h.total {
		return false, errs.Field(errs.Invalid, "price", "order %q would total more than %g %s", l.OrderID, money.Max, l.Currency)
	}
	h.lines++
	h.total += l.Quantity * l.PriceMinor
	im.orders[l.OrderID] = h
	im.items[key] = len(im.lines)
	im.lines = append(im.lines, l)
	return true, nil
}

// merge adds a second line of one SKU in an order to the first: their
// quantities summed, at the unit price that keeps their total (rounded to
// the currency's minor unit). Exports list a product twice in an order
// when it was discounted differently, say.
func (im *orderImporter) merge(into *models.OrderLine, l models.OrderLine, h orderHead) (bool, error) {
	q := into.Quantity + l.Quantity
	if q > maxQuantity {
		return false, errs.Field(errs.Invalid, "quantity", "with the order's other line for %q, more than %d", l.SKU, maxQuantity)
	}
	add := l.Quantity * l.PriceMinor
	if limit := money.MaxMinor(l.Currency); add > limit-h.total {
		return false, errs.Field(errs.Invalid, "price", "order %q would total more than %g %s", l.OrderID, money.Max, l.Currency)
	}
	total := into.Quantity*into.PriceMinor + add
	into.Quantity, into.PriceMinor = q, (total+q/2)/q
	h.total += add
	im.orders[l.OrderID] = h
	im.merged = true
	return false, nil
}

func (im *orderImporter) take() func(context.Context) (models.ImportCounts, error) {
	lines := im.lines
	im.lines, im.orders, im.items = nil, nil, nil
	return func(ctx context.Context) (models.ImportCounts, error) {
		counts, err := im.a.Store.ImportOrderLines(ctx, lines)
		if err != nil {
			return counts, err
		}
		// Lines of products the catalogue does not hold go in (history is
		// history) but are counted and named: recommendations never show
		// a product they cannot describe.
		skus := map[string]bool{}
		for _, l := range lines {
			skus[l.SKU] = true
		}
		known, err := im.a.Store.GetProducts(ctx, slices.Sorted(maps.Keys(skus)))
		if err != nil {
			return counts, err
		}
		for _, l := range lines {
			if _, ok := known[l.SKU]; !ok {
				counts.UnknownLines++
				if !slices.Contains(counts.UnknownSKUs, l.SKU) {
					counts.UnknownSKUs = append(counts.UnknownSKUs, l.SKU)
				}
			}
		}
		return counts, nil
	}
}
