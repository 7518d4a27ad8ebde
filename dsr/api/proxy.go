package api

import (
	"fmt"
	"net"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"
)

// ParseTrustedProxies reads a comma-separated list of CIDRs (a bare
// address counts as a single host: /32 or /128). An empty string is an
// empty list. It fails on the first entry that is not a CIDR or address.
func ParseTrustedProxies(list string) ([]*net.IPNet, error) {
	var out []*net.IPNet
	for _, item := range strings.Split(list, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		if !strings.Contains(item, "/") {
			ip := net.ParseIP(item)
			if ip == nil {
				return nil, fmt.Errorf("%q is not a CIDR such as 10.0.0.0/8 or an IP address", item)
			}
			bits := 128
			if ip.To4() != nil {
				ip, bits = ip.To4(), 32
			}
			out = append(out, &net.IPNet{IP: ip, Mask: net.CIDRMask(bits, bits)})
			continue
		}
		_, n, err := net.ParseCIDR(item)
		if err != nil {
			return nil, fmt.Errorf("%q is not a CIDR such as 10.0.0.0/8", item)
		}
		out = append(out, n)
	}
	return out, nil
}

// clientIPExtractor returns how the client address is found. With no
// trusted proxies it is the direct peer and forwarding headers are
// ignored. Otherwise, when the peer is a trusted proxy, it is the
// rightmost address in X-Forwarded-For that is not itself a trusted proxy
// (hops to its left were written by the client and may be forged), or
// X-Real-IP when there is no X-Forwarded-For; a request from any other
// peer is taken at its peer address, whatever headers it sends.
//
// Echo's extractors trust loopback, link-local and private addresses by
// default; those defaults are switched off so that only the configured
// ranges are trusted.
func clientIPExtractor(trusted []*net.IPNet) echo.IPExtractor {
	if len(trusted) == 0 {
		return echo.ExtractIPDirect()
	}
	opts := []echo.TrustOption{echo.TrustLoopback(false), echo.TrustLinkLocal(false), echo.TrustPrivateNet(false)}
	for _, n := range trusted {
		opts = append(opts, echo.TrustIPRange(n))
	}
	xff, realIP := echo.ExtractIPFromXFFHeader(opts...), echo.ExtractIPFromRealIPHeader(opts...)
	return func(r *http.Request) string {
		if len(r.Header.Values(echo.HeaderXForwardedFor)) > 0 {
			return xff(r)
		}
		return realIP(r)
	}
}
