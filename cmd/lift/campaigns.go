package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/pmezard/go-difflib/difflib"

	"github.com/lift-hq/lift/internal/app"
	"github.com/lift-hq/lift/internal/campaign"
	"github.com/lift-hq/lift/internal/errs"
)

const campaignsUsage = `usage:
  lift campaigns get ID                       print a campaign's draft as JSON, ready to commit
  lift campaigns apply -f FILE|DIR [--dry-run] [--publish]
                                              make the drafts match the files, and publish
                                              them when asked

A directory holds one campaign per *.json file, and may hold the
destinations its webhook steps post to (NAME.destination.json: id, url,
secret_env naming the variable that holds the secret, channel,
include_email; a secret is never read from a file) and the coupon pools
its incentives draw from (NAME.coupons.json: id and codes, or a pattern
and the count of unused codes to keep).

apply sends them all to the API as one bundle: the server checks every
file as its own route would (templates, destinations, coupon pools) and
applies all of it in one transaction, or nothing. It shows what changes
against the current draft and published version, as a diff, and the
publish warnings. Exit status: 0 done (or, with --dry-run, nothing to
change), 2 with --dry-run when something would change, 1 on an error.
Needs a marketer key (an admin key with destinations) through
--api/LIFT_API_URL and --key/LIFT_API_KEY.
`

// runCampaigns runs `lift campaigns get|apply`.
func runCampaigns(ctx context.Context, args []string, out, errOut io.Writer) error {
	if len(args) == 0 || (args[0] != "get" && args[0] != "apply") {
		fmt.Fprint(errOut, campaignsUsage)
		return &exitError{code: 1, msg: "lift campaigns needs get or apply"}
	}
	fs := flag.NewFlagSet("lift campaigns "+args[0], flag.ContinueOnError)
	fs.SetOutput(errOut)
	fs.Usage = func() { fmt.Fprint(errOut, campaignsUsage, "\nFlags:\n"); fs.PrintDefaults() }
	client := clientFlags(fs)
	if args[0] == "get" {
		rest := args[1:]
		id := ""
		if len(rest) > 0 && !strings.HasPrefix(rest[0], "-") {
			id, rest = rest[0], rest[1:]
		}
		if err := fs.Parse(rest); err != nil {
			return err
		}
		if id == "" || fs.NArg() > 0 {
			fs.Usage()
			return &exitError{code: 1, msg: "lift campaigns get needs a campaign ID"}
		}
		c, err := client()
		if err != nil {
			return err
		}
		cur, err := getCampaign(ctx, c, id)
		if err != nil {
			return err
		}
		if cur == nil {
			return fmt.Errorf("campaign %q not found", id)
		}
		_, err = out.Write(pretty(cur.Definition))
		return err
	}
	file := fs.String("f", "", "a campaign definition (JSON) or a directory of them")
	dryRun := fs.Bool("dry-run", false, "show what would change and change nothing (exit 2 when something would)")
	publish := fs.Bool("publish", false, "publish every campaign whose file differs from its published version")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if *file == "" || fs.NArg() > 0 {
		fs.Usage()
		return &exitError{code: 1, msg: "lift campaigns apply needs -f FILE|DIR"}
	}
	c, err := client()
	if err != nil {
		return err
	}
	return applyCampaigns(ctx, c, *file, *dryRun, *publish, out)
}

// remoteCampaign is what GET /v1/campaigns/{id} answers.
type remoteCampaign struct {
	ID                  string          `json:"id"`
	Status              string          `json:"status"`
	LatestVersion       int             `json:"latest_version"`
	Definition          json.RawMessage `json:"definition"`
	PublishedDefinition json.RawMessage `json:"published_definition"`
}

// getCampaign returns the campaign, or nil when there is none.
func getCampaign(ctx context.Context, c *apiClient, id string) (*remoteCampaign, error) {
	var cur remoteCampaign
	status, err := c.do(ctx, "GET", "/v1/campaigns/"+url.PathEscape(id), "", nil, &cur)
	if status == 404 {
		return nil, nil
	}
	return &cur, err
}

// localCampaign is a definition file, parsed and in canonical form.
type localCampaign struct {
	path string
	id   string
	raw  []byte
	json []byte // canonical, indented
}

// destinationFile is a destination kept as code: the secret comes from
// the environment variable it names.
type destinationFile struct {
	ID           string `json:"id"`
	URL          string `json:"url"`
	SecretEnv    string `json:"secret_env"`
	Channel      string `json:"channel,omitempty"`
	IncludeEmail bool   `json:"include_email,omitempty"`
}

// bundleItem names a file of the bundle by the field the API's errors use.
type bundleItem struct {
	field, path string
}

func applyCampaigns(ctx context.Context, c *apiClient, path string, dryRun, publish bool, out io.Writer) error {
	files, err := definitionFiles(path)
	if err != nil {
		return err
	}
	// Every file is read and checked here first, with its name; the
	// server checks them again, whole, before it changes anything.
	var locals []localCampaign
	var invalid []string
	var items []bundleItem
	bundle := app.Bundle{Publish: publish, Campaigns: []json.RawMessage{}}
	seen := map[string]string{}
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		switch {
		case strings.HasSuffix(strings.ToLower(f), ".destination.json"):
			d, err := readDestination(raw)
			if err != nil {
				invalid = append(invalid, fmt.Sprintf("%s: %v", f, err))
				continue
			}
			items = append(items, bundleItem{fmt.Sprintf("destinations[%d]", len(bundle.Destinations)), f})
			bundle.Destinations = append(bundle.Destinations, d)
			continue
		case strings.HasSuffix(strings.ToLower(f), ".coupons.json"):
			var p app.BundlePool
			if err := decodeStrictJSON(raw, &p); err != nil {
				invalid = append(invalid, fmt.Sprintf("%s: %v", f, err))
				continue
			}
			items = append(items, bundleItem{fmt.Sprintf("coupon_pools[%d]", len(bundle.CouponPools)), f})
			bundle.CouponPools = append(bundle.CouponPools, p)
			continue
		}
		def, err := campaign.Parse(raw)
		if err != nil {
			invalid = append(invalid, fmt.Sprintf("%s: %s", f, describe(err)))
			continue
		}
		if prev, dup := seen[def.ID]; dup {
			invalid = append(invalid, fmt.Sprintf("%s: id: %q is also defined in %s", f, def.ID, prev))
			continue
		}
		seen[def.ID] = f
		canonical, err := json.Marshal(def)
		if err != nil {
			return err
		}
		items = append(items, bundleItem{fmt.Sprintf("campaigns[%d]", len(bundle.Campaigns)), f})
		bundle.Campaigns = append(bundle.Campaigns, raw)
		locals = append(locals, localCampaign{path: f, id: def.ID, raw: raw, json: pretty(canonical)})
	}
	if len(invalid) > 0 {
		for _, line := range invalid {
			fmt.Fprintln(out, line)
		}
		return &exitError{code: 1, msg: fmt.Sprintf("%s of %d invalid: nothing was applied", plural(int64(len(invalid)), "file"), len(files))}
	}
	// The server's own check, and what would change, without changing it.
	bundle.DryRun = true
	plan, err := postBundle(ctx, c, bundle, items)
	if err != nil {
		return err
	}
	changes := 0
	for i, ch := range plan.Campaigns {
		l := locals[i]
		draft, published := canonicalize(ch.Draft), canonicalize(ch.Current)
		switch ch.Change {
		case "new":
			fmt.Fprintf(out, "+ %s (%s): new campaign\n", l.id, l.path)
		case "draft":
			fmt.Fprintf(out, "~ %s (%s): the draft changes\n", l.id, l.path)
			writeDiff(out, draft, l.json, "draft", l.path)
		case "publish":
			if ch.Latest == 0 {
				fmt.Fprintf(out, "~ %s (%s): the draft matches; not published yet\n", l.id, l.path)
			} else {
				fmt.Fprintf(out, "~ %s (%s): the draft matches; the published version v%d differs\n", l.id, l.path, ch.Latest)
				writeDiff(out, published, l.json, fmt.Sprintf("v%d", ch.Latest), l.path)
			}
		default:
			fmt.Fprintf(out, "= %s (%s): unchanged\n", l.id, l.path)
			switch {
			case publish:
			case ch.Latest == 0:
				fmt.Fprintln(out, "  not published yet: --publish publishes the file")
			case !bytes.Equal(published, l.json):
				fmt.Fprintf(out, "  the published version v%d differs: --publish publishes the file\n", ch.Latest)
			}
		}
		if ch.Change != "unchanged" || ch.Publish {
			changes++
			if dryRun && ch.Publish {
				fmt.Fprintf(out, "  would publish it as v%d\n", ch.Latest+1)
			}
		}
	}
	for _, group := range []struct {
		what  string
		items []app.ItemChange
	}{{"destination", plan.Destinations}, {"coupon pool", plan.CouponPools}} {
		for _, it := range group.items {
			mark := map[string]string{"new": "+", "changed": "~", "unchanged": "="}[it.Change]
			fmt.Fprintf(out, "%s %s %s: %s", mark, group.what, it.ID, it.Change)
			if it.Detail != "" && it.Change != "unchanged" {
				fmt.Fprintf(out, " (%s)", it.Detail)
			}
			fmt.Fprintln(out)
			if it.Change != "unchanged" {
				changes++
			}
		}
	}
	total := len(files)
	switch {
	case changes == 0:
		fmt.Fprintf(out, "%s, nothing to change\n", plural(int64(total), "file"))
		return nil
	case dryRun:
		fmt.Fprintf(out, "%d of %s would change (dry run: nothing applied)\n", changes, plural(int64(total), "file"))
		return &exitError{code: 2}
	}
	bundle.DryRun = false
	res, err := postBundle(ctx, c, bundle, items)
	if err != nil {
		return err
	}
	for i, ch := range res.Campaigns {
		if ch.Published > 0 {
			fmt.Fprintf(out, "%s: published v%d\n", locals[i].id, ch.Published)
		}
		for _, w := range ch.Warnings {
			fmt.Fprintf(out, "  warning: %s\n", w)
		}
	}
	fmt.Fprintf(out, "%d of %s applied, in one transaction\n", changes, plural(int64(total), "file"))
	return nil
}

// postBundle sends a bundle; an error naming an item names its file.
func postBundle(ctx context.Context, c *apiClient, b app.Bundle, items []bundleItem) (app.BundleResult, error) {
	var res app.BundleResult
	body, err := json.Marshal(b)
	if err != nil {
		return res, err
	}
	_, err = c.do(ctx, "POST", "/v1/campaigns:apply", "application/json", bytes.NewReader(body), &res)
	var apiErr *apiError
	if errors.As(err, &apiErr) {
		for _, it := range items {
			if rest, ok := strings.CutPrefix(apiErr.Field, it.field); ok && (rest == "" || rest[0] == '.') {
				return res, &exitError{code: 1, msg: fmt.Sprintf("%s: %s: %s: nothing was applied", it.path, strings.TrimPrefix(rest, "."), apiErr.Message)}
			}
		}
	}
	return res, err
}

// readDestination reads a destination file; its secret comes from the
// environment variable it names, never from the file.
func readDestination(raw []byte) (app.BundleDestination, error) {
	var probe map[string]any
	if err := json.Unmarshal(raw, &probe); err != nil {
		return app.BundleDestination{}, err
	}
	if _, ok := probe["secret"]; ok {
		return app.BundleDestination{}, errors.New("secret: a secret is never kept in a file: name the environment variable that holds it in secret_env")
	}
	var f destinationFile
	if err := decodeStrictJSON(raw, &f); err != nil {
		return app.BundleDestination{}, err
	}
	if f.SecretEnv == "" {
		return app.BundleDestination{}, errors.New("secret_env: names the environment variable holding the destination's secret")
	}
	secret := os.Getenv(f.SecretEnv)
	if secret == "" {
		return app.BundleDestination{}, fmt.Errorf("secret_env: %s is not set", f.SecretEnv)
	}
	return app.BundleDestination{ID: f.ID, DestinationInput: app.DestinationInput{URL: f.URL, Secret: secret, Channel: f.Channel, IncludeEmail: f.IncludeEmail}}, nil
}

// decodeStrictJSON decodes one JSON object, refusing unknown fields.
func decodeStrictJSON(raw []byte, dst any) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	return dec.Decode(dst)
}

func latest(cur *remoteCampaign) int {
	if cur == nil {
		return 0
	}
	return cur.LatestVersion
}

// definitionFiles lists path, or the *.json files under it, in order.
func definitionFiles(path string) ([]string, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if !st.IsDir() {
		return []string{path}, nil
	}
	var files []string
	err = filepath.WalkDir(path, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.EqualFold(filepath.Ext(p), ".json") {
			files = append(files, p)
		}
		return err
	})
	slices.Sort(files)
	if err == nil && len(files) == 0 {
		err = fmt.Errorf("%s holds no .json files", path)
	}
	return files, err
}

// canonicalize re-encodes a definition as the API stores it, indented;
// nil for none.
func canonicalize(raw json.RawMessage) []byte {
	if len(raw) == 0 || string(raw) == "null" {
		return nil
	}
	var def campaign.Definition
	if err := json.Unmarshal(raw, &def); err != nil {
		return pretty(raw)
	}
	canonical, err := json.Marshal(&def)
	if err != nil {
		return pretty(raw)
	}
	return pretty(canonical)
}

func pretty(raw []byte) []byte {
	var b bytes.Buffer
	if err := json.Indent(&b, raw, "", "  "); err != nil {
		return raw
	}
	b.WriteByte('\n')
	return b.Bytes()
}

func writeDiff(w io.Writer, from, to []byte, fromName, toName string) {
	text, _ := difflib.GetUnifiedDiffString(difflib.UnifiedDiff{
		A: difflib.SplitLines(string(from)), B: difflib.SplitLines(string(to)),
		FromFile: fromName, ToFile: toName, Context: 2,
	})
	for line := range strings.SplitSeq(strings.TrimRight(text, "\n"), "\n") {
		fmt.Fprintln(w, "    "+line)
	}
}

// describe names a validation error's field, as the API does.
func describe(err error) string {
	var e *errs.Error
	if errors.As(err, &e) && e.Field != "" {
		return e.Field + ": " + e.Message
	}
	return err.Error()
}
