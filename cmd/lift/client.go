package main

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
)

// exitError ends the command with its code (main prints nothing more
// when the message is empty): 1 is a failure, 2 means the command ran and
// found something a CI job should stop on (rows rejected, changes to
// apply).
type exitError struct {
	code int
	msg  string
}

func (e *exitError) Error() string { return e.msg }

// apiError is an error answer of the API, with its code and field.
type apiError struct {
	Method, Path, Status string
	Code, Field, Message string
}

func (e *apiError) Error() string {
	where := ""
	if e.Field != "" {
		where = e.Field + ": "
	}
	return fmt.Sprintf("%s %s: %s (%s%s)", e.Method, e.Path, e.Status, where, e.Message)
}

// apiClient talks to a running Lift API with an API key: the commands
// that work on a deployment from anywhere (import, campaigns).
type apiClient struct {
	base string
	key  string
	http *http.Client
}

// clientFlags adds --api and --key to a command's flags; both default to
// the environment (LIFT_API_URL, LIFT_API_KEY).
func clientFlags(fs *flag.FlagSet) func() (*apiClient, error) {
	api := fs.String("api", os.Getenv("LIFT_API_URL"), "the Lift API's base URL (LIFT_API_URL), e.g. https://lift.example.com")
	key := fs.String("key", "", "an API key (default LIFT_API_KEY; prefer the variable: a flag shows in ps)")
	return func() (*apiClient, error) {
		k := cmp.Or(*key, os.Getenv("LIFT_API_KEY"))
		switch {
		case *api == "":
			return nil, errors.New("no API: pass --api or set LIFT_API_URL (e.g. http://127.0.0.1:8080)")
		case k == "":
			return nil, errors.New("no API key: set LIFT_API_KEY or pass --key")
		}
		u, err := url.Parse(*api)
		if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
			return nil, fmt.Errorf("--api must be an http(s) URL, got %q", *api)
		}
		return &apiClient{base: strings.TrimRight(*api, "/"), key: k, http: &http.Client{}}, nil
	}
}

// do sends a request and decodes a JSON answer into out (when not nil).
// An error answer becomes an error with the API's code, field and
// message.
func (c *apiClient) do(ctx context.Context, method, path, contentType string, body io.Reader, out any) (int, error) {
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, body)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Authorization", "Bearer "+c.key)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	res, err := c.http.Do(req)
	if err != nil {
		return 0, err
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(res.Body, 64<<20))
	if err != nil {
		return res.StatusCode, err
	}
	if res.StatusCode >= 300 {
		var e struct {
			Error struct{ Code, Field, Message string } `json:"error"`
		}
		if json.Unmarshal(raw, &e) == nil && e.Error.Message != "" {
			return res.StatusCode, &apiError{Method: method, Path: path, Status: res.Status, Code: e.Error.Code, Field: e.Error.Field, Message: e.Error.Message}
		}
		return res.StatusCode, fmt.Errorf("%s %s: %s: %s", method, path, res.Status, bytes.TrimSpace(raw))
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			return res.StatusCode, fmt.Errorf("%s %s: the answer is not JSON: %w", method, path, err)
		}
	}
	return res.StatusCode, nil
}
