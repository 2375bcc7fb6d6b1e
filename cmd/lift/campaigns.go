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

	"github.com/lift-hq/lift/internal/campaign"
	"github.com/lift-hq/lift/internal/errs"
)

const campaignsUsage = `usage:
  lift campaigns get ID                       print a campaign's draft as JSON, ready to commit
  lift campaigns apply -f FILE|DIR [--dry-run] [--publish]
                                              make the drafts match the files (*.json, one
                                              campaign each), and publish them when asked

apply checks every file first and changes nothing when one is invalid. It
shows what changes against the current draft and published version, as a
diff. Exit status: 0 done (or, with --dry-run, nothing to change), 2 with
--dry-run when something would change, 1 on an error. Needs a marketer key
(--api/LIFT_API_URL, --key/LIFT_API_KEY).
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

func applyCampaigns(ctx context.Context, c *apiClient, path string, dryRun, publish bool, out io.Writer) error {
	files, err := definitionFiles(path)
	if err != nil {
		return err
	}
	// Every file is checked before anything changes.
	var locals []localCampaign
	var invalid []string
	seen := map[string]string{}
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			return err
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
		locals = append(locals, localCampaign{path: f, id: def.ID, raw: raw, json: pretty(canonical)})
	}
	if len(invalid) > 0 {
		for _, line := range invalid {
			fmt.Fprintln(out, line)
		}
		return &exitError{code: 1, msg: fmt.Sprintf("%d of %d files are invalid: nothing was applied", len(invalid), len(files))}
	}
	changes := 0
	for _, l := range locals {
		cur, err := getCampaign(ctx, c, l.id)
		if err != nil {
			return err
		}
		var draft, published []byte
		if cur != nil {
			draft = canonicalize(cur.Definition)
			published = canonicalize(cur.PublishedDefinition)
		}
		draftChanged := !bytes.Equal(draft, l.json)
		publishChanged := publish && !bytes.Equal(published, l.json)
		switch {
		case cur == nil:
			fmt.Fprintf(out, "+ %s (%s): new campaign\n", l.id, l.path)
		case draftChanged:
			fmt.Fprintf(out, "~ %s (%s): the draft changes\n", l.id, l.path)
			writeDiff(out, draft, l.json, "draft", l.path)
		case publishChanged:
			fmt.Fprintf(out, "~ %s (%s): the draft matches; the published version v%d differs\n", l.id, l.path, cur.LatestVersion)
			writeDiff(out, published, l.json, fmt.Sprintf("v%d", cur.LatestVersion), l.path)
		default:
			fmt.Fprintf(out, "= %s (%s): unchanged\n", l.id, l.path)
			if !publish && published != nil && !bytes.Equal(published, l.json) {
				fmt.Fprintf(out, "  the published version v%d differs: --publish publishes the file\n", cur.LatestVersion)
			}
		}
		if !draftChanged && !publishChanged {
			continue
		}
		changes++
		if dryRun {
			if publishChanged {
				fmt.Fprintf(out, "  would publish it as v%d\n", latest(cur)+1)
			}
			continue
		}
		if cur == nil {
			if _, err := c.do(ctx, "POST", "/v1/campaigns", "application/json", bytes.NewReader(l.raw), nil); err != nil {
				return fmt.Errorf("%s: %w", l.path, err)
			}
		} else if draftChanged {
			if _, err := c.do(ctx, "PUT", "/v1/campaigns/"+url.PathEscape(l.id), "application/json", bytes.NewReader(l.raw), nil); err != nil {
				return fmt.Errorf("%s: %w", l.path, err)
			}
		}
		if publishChanged {
			var v struct {
				Version int `json:"version"`
			}
			if _, err := c.do(ctx, "POST", "/v1/campaigns/"+url.PathEscape(l.id)+"/publish", "", nil, &v); err != nil {
				return fmt.Errorf("%s: %w", l.path, err)
			}
			fmt.Fprintf(out, "  published v%d\n", v.Version)
		}
	}
	switch {
	case changes == 0:
		fmt.Fprintf(out, "%d campaigns, nothing to change\n", len(locals))
	case dryRun:
		fmt.Fprintf(out, "%d of %d campaigns would change (dry run: nothing applied)\n", changes, len(locals))
		return &exitError{code: 2}
	default:
		fmt.Fprintf(out, "%d of %d campaigns applied\n", changes, len(locals))
	}
	return nil
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
