package e2e_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"log/slog"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/lift-hq/lift/config"
	"github.com/lift-hq/lift/internal/boot"
	"github.com/lift-hq/lift/internal/devserver"
	"github.com/lift-hq/lift/internal/testdb"
	"github.com/lift-hq/lift/models"
	"github.com/lift-hq/lift/workflows"
)

// TestTemporalOverTLSAndMutualTLS connects the production roles' way
// (config.Load reading TEMPORAL_* by the SDK's environment configuration,
// then boot.Dial) to an in-process Temporal server that speaks only TLS,
// then only mutual TLS, and registers Lift's search attributes through
// it. Without the CA, or without the client certificate where one is
// required, the connection is refused.
func TestTemporalOverTLSAndMutualTLS(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test: runs an embedded Temporal server")
	}
	dir := t.TempDir()
	pki := newPKI(t, dir)
	noFile := filepath.Join(dir, "temporal.toml") // keep the machine's own profiles out
	require.NoError(t, os.WriteFile(noFile, nil, 0o600))
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))

	for _, mutual := range []bool{false, true} {
		name := map[bool]string{false: "server TLS", true: "mutual TLS"}[mutual]
		t.Run(name, func(t *testing.T) {
			srv, err := devserver.Start(devserver.Options{DatabaseFile: filepath.Join(t.TempDir(), "temporal.db"),
				TLS: &devserver.TLS{CertFile: pki.serverCert, KeyFile: pki.serverKey, CAFile: pki.ca, RequireClientCert: mutual}})
			require.NoError(t, err)
			defer srv.Stop()
			dial := func(env map[string]string, wait time.Duration) error {
				env["TEMPORAL_ADDRESS"], env["TEMPORAL_CONFIG_FILE"], env["LIFT_DATABASE_URL"] = srv.FrontendAddr, noFile, "postgres://unused"
				cfg, err := config.Load(config.RoleMigrate, env, nil)
				require.NoError(t, err)
				ctx, cancel := context.WithTimeout(context.Background(), wait)
				defer cancel()
				c, err := boot.Dial(ctx, cfg.Temporal, logger, nil)
				if err != nil {
					return err
				}
				defer c.Close()
				return workflows.RegisterSearchAttributes(ctx, c, cfg.TemporalNamespace)
			}
			env := map[string]string{"TEMPORAL_TLS_SERVER_CA_CERT_PATH": pki.ca, "TEMPORAL_TLS_SERVER_NAME": "localhost"}
			if mutual {
				env["TEMPORAL_TLS_CLIENT_CERT_PATH"], env["TEMPORAL_TLS_CLIENT_KEY_PATH"] = pki.clientCert, pki.clientKey
			}
			require.NoError(t, dial(env, time.Minute), "connected by the TEMPORAL_TLS_* variables")

			require.Error(t, dial(map[string]string{}, 3*time.Second), "plain gRPC is refused")
			require.Error(t, dial(map[string]string{"TEMPORAL_TLS": "true", "TEMPORAL_TLS_SERVER_NAME": "localhost"}, 3*time.Second),
				"a server certificate from an unknown CA is refused")
			if mutual {
				require.Error(t, dial(map[string]string{"TEMPORAL_TLS_SERVER_CA_CERT_PATH": pki.ca, "TEMPORAL_TLS_SERVER_NAME": "localhost"}, 3*time.Second),
					"without a client certificate the server refuses")
			}
		})
	}
}

// pki is a CA, a server certificate for localhost and 127.0.0.1 (also
// usable as a client certificate, as the server's own workers need) and
// a client certificate, as PEM files.
type pki struct{ ca, serverCert, serverKey, clientCert, clientKey string }

func newPKI(t *testing.T, dir string) pki {
	t.Helper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "Lift test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	require.NoError(t, err)
	caCert, err := x509.ParseCertificate(caDER)
	require.NoError(t, err)
	write := func(name, kind string, der []byte) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: kind, Bytes: der}), 0o600))
		return p
	}
	leaf := func(name string, serial int64, usages []x509.ExtKeyUsage) (string, string) {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		require.NoError(t, err)
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: name},
			NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
			DNSNames: []string{"localhost"}, IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
			KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: usages}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, caCert, &key.PublicKey, caKey)
		require.NoError(t, err)
		keyDER, err := x509.MarshalECPrivateKey(key)
		require.NoError(t, err)
		return write(name+".pem", "CERTIFICATE", der), write(name+"-key.pem", "EC PRIVATE KEY", keyDER)
	}
	p := pki{ca: write("ca.pem", "CERTIFICATE", caDER)}
	p.serverCert, p.serverKey = leaf("server", 2, []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth})
	p.clientCert, p.clientKey = leaf("lift-worker", 3, []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth})
	return p
}

// TestSearchAttributesWhereTemporalWillNotAddThem runs against a server
// that refuses AddSearchAttributes, as Temporal Cloud does: lift migrate's
// bootstrap says which attributes to create and with which commands, and
// the worker will not start until they exist, naming them; once they
// exist, both go ahead.
func TestSearchAttributesWhereTemporalWillNotAddThem(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test: runs an embedded Temporal server")
	}
	dbURL := testdb.PostgresURL(t)
	s, err := models.Open(dbURL)
	require.NoError(t, err)
	require.NoError(t, s.Migrate(context.Background()))
	require.NoError(t, s.Close())
	dbFile := filepath.Join(t.TempDir(), "temporal.db")
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	ctx := context.Background()
	start := func(deny ...string) (*devserver.Server, config.Config) {
		srv, err := devserver.Start(devserver.Options{DatabaseFile: dbFile, Deny: deny})
		require.NoError(t, err)
		cfg, err := config.Load(config.RoleWorker, map[string]string{"TEMPORAL_ADDRESS": srv.FrontendAddr,
			"TEMPORAL_CONFIG_FILE": filepath.Join(t.TempDir(), "none.toml"), "LIFT_DATABASE_URL": dbURL,
			"LIFT_UNSUBSCRIBE_SECRET": strings.Repeat("s", 32), "LIFT_PUBLIC_URL": "https://lift.example.com"}, nil)
		require.NoError(t, err)
		return srv, cfg
	}

	srv, cfg := start("AddSearchAttributes")
	c, err := boot.Dial(ctx, cfg.Temporal, logger, nil)
	require.NoError(t, err)
	err = workflows.RegisterSearchAttributes(ctx, c, cfg.TemporalNamespace)
	var missing *workflows.MissingSearchAttributesError
	require.ErrorAs(t, err, &missing)
	require.Equal(t, []string{"CampaignId", "CustomerId", "EmailsSent", "NextEmailAt", "SequenceStatus", "Variant"}, missing.Missing)
	require.Contains(t, err.Error(), "tcld namespace search-attributes add --namespace default --search-attribute CampaignId=Keyword")
	require.Contains(t, err.Error(), "--search-attribute EmailsSent=Int")
	require.Contains(t, err.Error(), "temporal operator search-attribute create --namespace default --name NextEmailAt --type Datetime")
	c.Close()
	err = boot.RunWorker(ctx, cfg, logger)
	require.ErrorContains(t, err, "lift worker will not start: namespace default lacks Lift's search attributes CampaignId, CustomerId")
	srv.Stop()

	// An operator creates them (here: a server that lets Lift).
	srv, cfg = start()
	c, err = boot.Dial(ctx, cfg.Temporal, logger, nil)
	require.NoError(t, err)
	require.NoError(t, workflows.RegisterSearchAttributes(ctx, c, cfg.TemporalNamespace))
	c.Close()
	srv.Stop()

	srv, cfg = start("AddSearchAttributes")
	defer srv.Stop()
	c, err = boot.Dial(ctx, cfg.Temporal, logger, nil)
	require.NoError(t, err)
	defer c.Close()
	require.NoError(t, workflows.RegisterSearchAttributes(ctx, c, cfg.TemporalNamespace), "nothing left to add")
	require.NoError(t, workflows.CheckSearchAttributes(ctx, c, cfg.TemporalNamespace))
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- boot.RunWorker(runCtx, cfg, logger) }()
	select {
	case err := <-done:
		t.Fatalf("the worker stopped: %v", err)
	case <-time.After(2 * time.Second): // polling
	}
	cancel()
	require.NoError(t, <-done)
}
