package delivery

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"syscall"
	"time"
)

// ErrTooLarge means a fetched file is larger than the limit it was fetched
// with.
var ErrTooLarge = errors.New("larger than the limit")

// ErrAddressRefused means a URL led to an address the fetcher does not
// connect to: loopback, private, link-local, unspecified or another that is
// not on the public internet.
var ErrAddressRefused = errors.New("not a public address")

// FetchOptions tune NewFetcher. The zero value is the defaults.
type FetchOptions struct {
	// Timeout bounds one fetch, redirects and body included (default 20s).
	Timeout time.Duration
	// MaxRedirects is the most redirects one fetch follows (default 3).
	MaxRedirects int
	// AllowAddr judges every address the fetcher is about to connect to,
	// after DNS resolution, at dial time; nil means PublicAddr. Only tests
	// replace it, to fetch from a server on 127.0.0.1.
	AllowAddr func(netip.Addr) bool
}

// Fetcher downloads the files of attachments given by URL. It is safe for
// concurrent use.
type Fetcher struct {
	client  *http.Client
	timeout time.Duration
}

// NewFetcher returns a fetcher that speaks http and https only, follows at
// most opts.MaxRedirects redirects (each to http or https), and connects
// only to addresses opts.AllowAddr allows. The check runs on the address
// being dialled, after DNS resolution, so that a name that resolves to a
// private address (or is made to, between a check and the dial: DNS
// rebinding) is refused all the same; no proxy from the environment is used,
// since the check would then judge the proxy instead of the server.
func NewFetcher(opts FetchOptions) *Fetcher {
	if opts.Timeout <= 0 {
		opts.Timeout = 20 * time.Second
	}
	if opts.MaxRedirects <= 0 {
		opts.MaxRedirects = 3
	}
	allow := opts.AllowAddr
	if allow == nil {
		allow = PublicAddr
	}
	dialer := &net.Dialer{
		Timeout: 10 * time.Second,
		Control: func(network, address string, _ syscall.RawConn) error {
			ap, err := netip.ParseAddrPort(address)
			if err != nil {
				return fmt.Errorf("%s: %w", address, ErrAddressRefused)
			}
			if a := ap.Addr().Unmap(); !allow(a) {
				return fmt.Errorf("%s: %w", a, ErrAddressRefused)
			}
			return nil
		},
	}
	transport := &http.Transport{
		Proxy:                 nil,
		DialContext:           dialer.DialContext,
		TLSHandshakeTimeout:   10 * time.Second,
		ResponseHeaderTimeout: opts.Timeout,
		MaxIdleConns:          10,
		IdleConnTimeout:       30 * time.Second,
		ForceAttemptHTTP2:     true,
	}
	max := opts.MaxRedirects
	client := &http.Client{
		Transport: transport,
		Timeout:   opts.Timeout,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) > max {
				return fmt.Errorf("more than %d redirects", max)
			}
			if req.URL.Scheme != "http" && req.URL.Scheme != "https" {
				return fmt.Errorf("a redirect to a %s URL", req.URL.Scheme)
			}
			return nil
		},
	}
	return &Fetcher{client: client, timeout: opts.Timeout}
}

// CheckURL returns an error saying what is wrong with rawURL as the address
// of a file to fetch: it must be an absolute http or https URL with a host
// and no user name or password.
func CheckURL(rawURL string) error {
	u, err := url.Parse(rawURL)
	switch {
	case err != nil:
		return errors.New("is not a URL")
	case u.Scheme != "http" && u.Scheme != "https":
		return errors.New("must be an http or https URL")
	case u.Hostname() == "":
		return errors.New("has no host")
	case u.User != nil:
		return errors.New("must not carry a user name or password")
	}
	return nil
}

// Fetch downloads rawURL (see CheckURL) with a GET and returns its body and
// the Content-Type the server gave ("" when none). It returns ErrTooLarge
// when the body is over limit bytes, an error wrapping ErrAddressRefused
// when the URL or a redirect leads to an address that is not allowed, and
// an error saying what failed (a status other than 200, a timeout, a
// network error) otherwise. Its errors do not repeat the URL.
func (f *Fetcher) Fetch(ctx context.Context, rawURL string, limit int64) ([]byte, string, error) {
	if err := CheckURL(rawURL); err != nil {
		return nil, "", err
	}
	ctx, cancel := context.WithTimeout(ctx, f.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		return nil, "", errors.New("is not a URL")
	}
	req.Header.Set("User-Agent", "switchboard attachment fetcher")
	res, err := f.client.Do(req)
	if err != nil {
		return nil, "", fetchError(err, f.timeout)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return nil, "", fmt.Errorf("the server answered %s", res.Status)
	}
	if res.ContentLength > limit {
		return nil, "", fmt.Errorf("%w: the server announced %d bytes", ErrTooLarge, res.ContentLength)
	}
	body, err := io.ReadAll(io.LimitReader(res.Body, limit+1))
	if err != nil {
		return nil, "", fetchError(err, f.timeout)
	}
	if int64(len(body)) > limit {
		return nil, "", fmt.Errorf("%w: more than %d bytes", ErrTooLarge, limit)
	}
	return body, res.Header.Get("Content-Type"), nil
}

// fetchError returns err without the URL the HTTP client puts in front of
// it, and a timeout in words.
func fetchError(err error, timeout time.Duration) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		if ue.Timeout() {
			return fmt.Errorf("no answer within %s", timeout)
		}
		err = ue.Err
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("no answer within %s", timeout)
	}
	return err
}

// The ranges PublicAddr refuses besides those netip classifies: "this
// network", shared address space (carrier-grade NAT), IETF protocol
// assignments, benchmarking, reserved and broadcast, and the IPv4/IPv6
// translation prefixes whose embedded IPv4 address is judged instead.
var (
	nonPublic = []netip.Prefix{
		netip.MustParsePrefix("0.0.0.0/8"),
		netip.MustParsePrefix("100.64.0.0/10"),
		netip.MustParsePrefix("192.0.0.0/24"),
		netip.MustParsePrefix("198.18.0.0/15"),
		netip.MustParsePrefix("240.0.0.0/4"),
		netip.MustParsePrefix("2001:db8::/32"),
	}
	nat64 = []netip.Prefix{
		netip.MustParsePrefix("64:ff9b::/96"),
		netip.MustParsePrefix("64:ff9b:1::/48"),
	}
)

// PublicAddr reports whether a is a public unicast address: not loopback,
// private (RFC 1918, fc00::/7), link-local, multicast, unspecified or one of
// the reserved ranges above. An IPv4-mapped or NAT64 address is judged by
// the IPv4 address it carries.
func PublicAddr(a netip.Addr) bool {
	a = a.Unmap()
	if !a.IsValid() || a.IsLoopback() || a.IsPrivate() || a.IsUnspecified() || a.IsLinkLocalUnicast() ||
		a.IsLinkLocalMulticast() || a.IsInterfaceLocalMulticast() || a.IsMulticast() {
		return false
	}
	for _, p := range nonPublic {
		if p.Contains(a) {
			return false
		}
	}
	for _, p := range nat64 {
		if p.Contains(a) {
			b := a.As16()
			return PublicAddr(netip.AddrFrom4([4]byte{b[12], b[13], b[14], b[15]}))
		}
	}
	return true
}
