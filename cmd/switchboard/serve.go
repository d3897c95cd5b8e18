package main

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"time"

	"switchboard/auth"
	"switchboard/bytesize"
	"switchboard/handlers"
	"switchboard/handlers/acquire"
	"switchboard/handlers/callgear"
	"switchboard/handlers/console"
	"switchboard/handlers/dialect"
	"switchboard/handlers/helpcrunch"
	"switchboard/handlers/reve"
	"switchboard/handlers/switchboard"
	"switchboard/store"
)

// serveConfig is the configuration of the serve command.
type serveConfig struct {
	common
	signing
	outbox       outboxConfig
	smtp         smtpConfig
	webhooks     webhookConfig
	guards       guardConfig
	events       eventConfig
	addr         string
	bodyLimit    string
	attachLimit  string
	rpcLimit     string
	maxItems     int
	revePageSize int
	adminEmail   string
	consoleTTL   time.Duration
}

// validate returns every problem with the configuration at once.
func (c *serveConfig) validate() error {
	var errs []error
	if _, _, err := net.SplitHostPort(c.addr); err != nil {
		errs = append(errs, fmt.Errorf("--addr %q: want HOST:PORT or :PORT", c.addr))
	}
	if n, err := bytesize.Parse(c.bodyLimit); err != nil || n <= 0 {
		errs = append(errs, fmt.Errorf("--body-limit %q: want a size such as 2M or 512K", c.bodyLimit))
	}
	if n, err := bytesize.Parse(c.attachLimit); err != nil || n <= 0 {
		errs = append(errs, fmt.Errorf("--attachment-limit %q: want a size such as 10M", c.attachLimit))
	}
	if n, err := bytesize.Parse(c.rpcLimit); err != nil || n <= 0 {
		errs = append(errs, fmt.Errorf("--callgear-body-limit %q: want a size such as 16M", c.rpcLimit))
	}
	if c.maxItems < 1 || c.maxItems > 10_000 {
		errs = append(errs, fmt.Errorf("--upload-max-items %d: want 1 to 10000", c.maxItems))
	}
	if c.revePageSize < 1 || c.revePageSize > 1000 {
		errs = append(errs, fmt.Errorf("--reve-page-size %d: want 1 to 1000", c.revePageSize))
	}
	if _, _, err := store.ParseURL(c.databaseURL); err != nil {
		errs = append(errs, fmt.Errorf("--database-url: %w", err))
	}
	if c.maxConns < 1 || c.maxConns > 1000 {
		errs = append(errs, fmt.Errorf("--database-max-conns %d: want 1 to 1000", c.maxConns))
	}
	if err := c.signing.validate(); err != nil {
		errs = append(errs, err)
	}
	errs = append(errs, c.outbox.validate()...)
	errs = append(errs, c.smtp.validate()...)
	errs = append(errs, c.webhooks.validate()...)
	errs = append(errs, c.guards.validate()...)
	errs = append(errs, c.events.validate()...)
	if c.consoleTTL <= 0 {
		errs = append(errs, fmt.Errorf("--console-session-ttl %s: want a positive duration such as 12h", c.consoleTTL))
	}
	return errors.Join(errs...)
}

// router returns the router's settings: each dialect's, from its flags, and
// the trusted proxies. It is called after validate.
// streamsDone, when closed, ends the live event streams.
func (c *serveConfig) router(streamsDone <-chan struct{}) handlers.Config {
	proxies, _ := c.guards.proxies()                // validated
	attachLimit, _ := bytesize.Parse(c.attachLimit) // validated
	return handlers.Config{
		REVE:           reve.Config{BodyLimit: c.bodyLimit, PageSize: c.revePageSize},
		HelpCrunch:     helpcrunch.Config{BodyLimit: c.bodyLimit},
		Acquire:        acquire.Config{BodyLimit: c.bodyLimit, AttachmentLimit: attachLimit},
		CallGear:       callgear.Config{BodyLimit: c.rpcLimit, MaxItems: c.maxItems},
		TrustedProxies: proxies,
		// --metrics-addr serves /metrics on its own address instead.
		MetricsElsewhere: c.guards.metrics.addr != "",
		// The live stream and the webhook routes (our own namespace).
		Switchboard: switchboard.Config{BodyLimit: c.bodyLimit, Stream: c.events.stream(streamsDone),
			Inbound: switchboard.InboundConfig{PublicURL: c.outbox.publicURL, SMSAuthToken: c.outbox.smsToken,
				EmailLimit: c.smtp.maxBytes()}},
		// The web console; its live streams end with the others.
		Console: console.Config{Done: streamsDone, MaxStreams: c.events.maxStreams, KeepAlive: c.events.keepAlive,
			SessionTTL: c.consoleTTL},
	}
}

// serveFlags returns serve's flag set, writing into cfg; top-level help
// lists its environment variables.
func serveFlags(cfg *serveConfig) *flag.FlagSet {
	fs := newFlagSet("serve [flags]", "Runs the HTTP server: migrates the database, creates the first account on an\nempty one, serves every dialect and stops gracefully on SIGINT or SIGTERM.")
	cfg.addCommon(fs)
	cfg.addSigning(fs)
	fs.StringVar(&cfg.addr, "addr", "127.0.0.1:8080", "listen address, HOST:PORT; 0.0.0.0:8080 or :8080 listens on every interface (env SWITCHBOARD_ADDR)")
	fs.IntVar(&cfg.maxConns, "database-max-conns", 20, "most PostgreSQL connections for requests, 1 to 1000; batch uploads use up to 4 more, never more than this (env SWITCHBOARD_DATABASE_MAX_CONNS)")
	fs.StringVar(&cfg.bodyLimit, "body-limit", "2M", "largest request body on REST routes (env SWITCHBOARD_BODY_LIMIT)")
	fs.StringVar(&cfg.attachLimit, "attachment-limit", "10M", "most bytes an email's attachments hold together; the Acquire mail route takes that much more body, in base64 (env SWITCHBOARD_ATTACHMENT_LIMIT)")
	fs.StringVar(&cfg.rpcLimit, "callgear-body-limit", "16M", "largest request body on the CallGear endpoint (env SWITCHBOARD_CALLGEAR_BODY_LIMIT)")
	fs.IntVar(&cfg.maxItems, "upload-max-items", 500, "most offline messages or chats one CallGear upload takes (env SWITCHBOARD_UPLOAD_MAX_ITEMS)")
	fs.IntVar(&cfg.revePageSize, "reve-page-size", 20, "rows per page of REVE lists (env SWITCHBOARD_REVE_PAGE_SIZE)")
	cfg.outbox.addOutbox(fs)
	cfg.smtp.addSMTP(fs)
	cfg.webhooks.addWebhooks(fs)
	cfg.guards.addGuards(fs)
	cfg.events.addEvents(fs)
	fs.DurationVar(&cfg.consoleTTL, "console-session-ttl", console.DefaultSessionTTL, "how long a sign-in to the web console lasts (env SWITCHBOARD_CONSOLE_SESSION_TTL)")
	fs.StringVar(&cfg.adminEmail, "admin-email", "admin@switchboard.local", "email of the superadmin created on first start (env SWITCHBOARD_ADMIN_EMAIL)")
	return fs
}

func serve(ctx context.Context, args []string, env func(string) string, stdout, stderr io.Writer) error {
	var cfg serveConfig
	var asJSON bool
	fs := serveFlags(&cfg)
	fs.BoolVar(&asJSON, "json", false, "print the first start's credentials as one JSON object (the logs on stderr are JSON lines anyway)")
	if err := parse(fs, args, env, stdout, stderr); err != nil {
		return err
	}
	log, err := cfg.logger(stderr)
	if err != nil {
		return err
	}
	if err := cfg.validate(); err != nil {
		return err
	}
	profile, err := openCPUProfile(env)
	if err != nil {
		return err
	}

	st, _, err := openStore(ctx, cfg.common, log)
	if err != nil {
		return err
	}
	defer st.Close()
	keys, err := cfg.signing.keys(ctx, st, log)
	if err != nil {
		return err
	}
	hasher := auth.Hasher{}
	if err := bootstrap(ctx, st, hasher, keys, cfg.adminEmail, asJSON, stdout, log); err != nil {
		return err
	}
	g, err := cfg.guards.build(ctx, st, log)
	if err != nil {
		return err
	}
	defer g.counter.Close()
	basic, err := cfg.guards.basic(st, hasher, g, log)
	if err != nil {
		return err
	}
	// Shutdown waits for requests to end, and a stream does not end by
	// itself: closing streamsDone ends them.
	streamsDone := make(chan struct{})
	router := handlers.New(cfg.router(streamsDone),
		handlers.Deps{Deps: dialect.Deps{Store: st, Passwords: basic, Keys: keys, Limits: g.limits, Idempotency: g.idem, Log: log},
			Metrics: g.metrics, Instruments: g.instruments})
	worker, err := cfg.outbox.worker(st, log)
	if err != nil {
		return err
	}
	worker.CountOutcomes(g.instruments.Delivered)

	mx, err := cfg.smtp.server(st, log)
	if err != nil {
		return err
	}

	ln, err := net.Listen("tcp", cfg.addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.addr, err)
	}
	stopMetrics, err := cfg.guards.metrics.serve(g.metrics, log)
	if err != nil {
		ln.Close()
		return err
	}
	defer stopMetrics()
	var mxLn net.Listener
	if mx != nil {
		if mxLn, err = net.Listen("tcp", cfg.smtp.listen); err != nil {
			ln.Close()
			return fmt.Errorf("listen on %s: %w", cfg.smtp.listen, err)
		}
	}
	// The worker outlives the signal: it stops after the last request, so
	// that what those requests queued is not left claimed.
	workerCtx, stopWorker := context.WithCancel(context.WithoutCancel(ctx))
	defer stopWorker()
	workerDone := make(chan error, 1)
	go func() { workerDone <- worker.Run(workerCtx) }()
	webhooksDone := runWebhooks(workerCtx, cfg.webhooks.worker(st, log), g.instruments.Delivered)
	purgeDone := make(chan struct{})
	go func() { defer close(purgeDone); purge(workerCtx, st, log) }()
	// The event log: pruned past --event-retention, and on PostgreSQL
	// the other replicas' commits wake this one's streams.
	eventsDone := make(chan struct{}, 2)
	go func() {
		defer func() { eventsDone <- struct{}{} }()
		pruneEvents(workerCtx, st, cfg.events.retention, log)
	}()
	go func() { defer func() { eventsDone <- struct{}{} }(); listenEvents(workerCtx, st, log) }()
	srv := &http.Server{
		Handler:           router,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
		// Requests in flight at shutdown finish: their context is not the
		// signal's.
		BaseContext: func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	srv.RegisterOnShutdown(func() { close(streamsDone) })
	defer profile.start(log)()
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	log.Info("listening", "addr", ln.Addr().String(), "database", string(st.Backend()))
	// The SMTP receiver: without it, mxServed never answers.
	mxServed := make(chan error, 1)
	if mx != nil {
		go func() { mxServed <- mx.Serve(mxLn) }()
		log.Info("smtp: listening", "addr", mxLn.Addr().String(), "domain", cfg.smtp.domain)
	}

	select {
	case err := <-served:
		return fmt.Errorf("serve: %w", err)
	case err := <-mxServed:
		return fmt.Errorf("smtp: %w", err)
	case <-ctx.Done():
	}
	log.Info("shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	// The SMTP receiver finishes the messages in flight while HTTP does
	// its requests.
	mxStopped := make(chan error, 1)
	if mx != nil {
		go func() { mxStopped <- mx.Shutdown(shutdownCtx) }()
	} else {
		mxStopped <- nil
	}
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-served; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", err)
	}
	if err := <-mxStopped; err != nil {
		return fmt.Errorf("smtp shutdown: %w", err)
	}
	if mx != nil {
		if err := <-mxServed; err != nil {
			return fmt.Errorf("smtp: %w", err)
		}
	}
	// The worker finishes the sends in flight (each within its 30 s send
	// timeout) and gives back what it holds.
	stopWorker()
	select {
	case err := <-workerDone:
		if err != nil {
			return fmt.Errorf("delivery worker: %w", err)
		}
	case <-time.After(workerStopTimeout):
		return errors.New("shutdown: the delivery worker did not stop in time")
	}
	select {
	case err := <-webhooksDone:
		if err != nil {
			return fmt.Errorf("webhook worker: %w", err)
		}
	case <-time.After(workerStopTimeout):
		return errors.New("shutdown: the webhook worker did not stop in time")
	}
	<-purgeDone
	<-eventsDone
	<-eventsDone
	log.Info("stopped")
	return nil
}

// workerStopTimeout bounds the wait for the delivery worker at shutdown: a
// send's timeout and the writes that record it.
const workerStopTimeout = 50 * time.Second

// openStore opens and migrates the database the config names, and returns
// the store with the migration versions it applied.
func openStore(ctx context.Context, c common, log *slog.Logger) (*store.Store, []int, error) {
	opts := store.Options{Logger: log, MaxOpenConns: c.maxConns}
	if c.maxConns > 0 && c.maxConns < 4 {
		// Uploads' pool (4 by default) stays within the bound too.
		opts.BulkConns = c.maxConns
	}
	st, err := store.Open(ctx, c.databaseURL, opts)
	if err != nil {
		return nil, nil, err
	}
	applied, err := st.Migrate(ctx)
	if err != nil {
		st.Close()
		return nil, nil, err
	}
	if len(applied) > 0 {
		log.Info("migrated", "versions", applied)
	}
	return st, applied, nil
}

// bootstrap creates the first account, its superadmin and a full-access API
// key on an empty database, and prints the credentials once, as text or
// (asJSON) one JSON object.
func bootstrap(ctx context.Context, st *store.Store, hasher auth.Hasher, keys *auth.Keys, email string, asJSON bool, stdout io.Writer, log *slog.Logger) error {
	password := rand.Text()
	hash, err := hasher.Hash(password)
	if err != nil {
		return err
	}
	b, err := st.Bootstrap(ctx, store.Bootstrap{AccountName: "Default", Email: email, PasswordHash: hash, KeyID: auth.NewKeyID()})
	if err != nil {
		return fmt.Errorf("first start: %w", err)
	}
	if !b.Created {
		return nil
	}
	token, err := keys.Sign(b.Key)
	if err != nil {
		return fmt.Errorf("first start: %w", err)
	}
	log.Info("first start: created account, superadmin and API key", "account_id", b.Account.ID, "agent_id", b.Agent.ID,
		"email", b.Agent.Email, "key_id", b.Key.ID)
	if asJSON {
		return json.NewEncoder(stdout).Encode(map[string]any{"account_id": b.Account.ID, "account_name": b.Account.Name,
			"agent_id": b.Agent.ID, "email": b.Agent.Email, "password": password, "api_key": token})
	}
	fmt.Fprintf(stdout, `First start: created account %d (%q) and its superadmin.
  email:    %s
  password: %s
  api key:  %s
The password and the API key are shown only this once.
`, b.Account.ID, b.Account.Name, b.Agent.Email, password, token)
	return nil
}
