package notify

import (
	"bytes"
	"strings"

	"github.com/emersion/go-msgauth/dkim"
)

// DKIM results for the From: domain of an inbound message: a signal for
// officers, not proof of the data subject's identity.
const (
	DKIMPass      = "pass"      // a valid signature by the From: domain (or a parent domain)
	DKIMFail      = "fail"      // the From: domain signed, but the signature does not verify
	DKIMNone      = "none"      // no signature by the From: domain
	DKIMTempError = "temperror" // the key could not be fetched
)

// DKIMMaxSignatures is the number of signatures CheckDKIM verifies per
// message; further ones are not looked at (each costs a DNS lookup).
const DKIMMaxSignatures = 5

// TXTLookup returns the TXT records of a DNS name, as
// net.Resolver.LookupTXT does; a timeout is the caller's to set.
type TXTLookup func(name string) ([]string, error)

// CheckDKIM verifies the DKIM signatures of raw, fetching keys with
// lookup, and returns the result for the From: domain fromDomain: pass
// (with the signing domain) when a signature by that domain or a parent
// domain verifies, otherwise temperror (a key lookup failed), fail (a
// signature by it does not verify, or the signatures do not parse) or none
// (no signature by it).
func CheckDKIM(raw []byte, fromDomain string, lookup TXTLookup) (result, domain string) {
	vs, err := dkim.VerifyWithOptions(bytes.NewReader(raw), &dkim.VerifyOptions{LookupTXT: lookup, MaxVerifications: DKIMMaxSignatures})
	if err != nil {
		if dkim.IsTempFail(err) {
			return DKIMTempError, ""
		}
		return DKIMFail, ""
	}
	result = DKIMNone
	for _, v := range vs {
		if !alignedDomain(v.Domain, fromDomain) {
			continue
		}
		switch {
		case v.Err == nil:
			return DKIMPass, strings.ToLower(v.Domain)
		case dkim.IsTempFail(v.Err):
			result, domain = DKIMTempError, strings.ToLower(v.Domain)
		case result != DKIMTempError:
			result, domain = DKIMFail, strings.ToLower(v.Domain)
		}
	}
	return result, domain
}

// alignedDomain reports whether a signature by signer speaks for the From:
// domain from: the same domain or a parent of it (relaxed alignment).
func alignedDomain(signer, from string) bool {
	signer, from = strings.ToLower(strings.TrimSuffix(signer, ".")), strings.ToLower(from)
	return signer != "" && (signer == from || strings.HasSuffix(from, "."+signer))
}
