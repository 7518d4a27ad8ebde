package db

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"time"

	"github.com/dsrdesk/dsrdesk/dsr"
)

// Hash scheme versions of events.hash_version (migration 021).
const (
	// HashV1: EventHash over the whole data. Rows written before 021.
	HashV1 = 1
	// HashV2: EventHashV2 over the structural data and the digest of the
	// personal part (dsr.SplitEventData), which the purge may erase.
	HashV2 = 2
)

// personalPart is the stored form of an event's personal data
// (event_personal.personal). The random salt keeps the digest, which outlives
// the purge, from confirming a guess of what the text said.
type personalPart struct {
	Salt string            `json:"salt"`
	Data map[string]string `json:"data"`
}

// canonical is the encoding the digest is taken over: encoding/json of
// the struct, fields in order and map keys sorted, so it is the same for
// the value as written and as read back from jsonb.
func (p personalPart) canonical() []byte {
	b, _ := json.Marshal(p)
	return b
}

func (p personalPart) digest() []byte {
	s := sha256.Sum256(p.canonical())
	return s[:]
}

// sealedEvent is an event as the events table stores it (version 2).
type sealedEvent struct {
	Data     []byte // structural data, JSON
	Personal []byte // personal part, JSON; nil when none
	Digest   []byte // SHA-256 of the personal part; nil when none
	Hash     []byte
}

// sealEvent splits ev's data and computes its version-2 chain link after
// prev. ev.Seq and ev.At must be final.
func sealEvent(prev []byte, requestID string, ev dsr.Event) sealedEvent {
	structural, personal := dsr.SplitEventData(dsr.EventType(ev.Type), ev.Data)
	var s sealedEvent
	if personal != nil {
		salt := make([]byte, 16)
		_, _ = rand.Read(salt) // crypto/rand.Read never fails (Go ≥ 1.24)
		p := personalPart{Salt: hex.EncodeToString(salt), Data: personal}
		s.Personal, s.Digest = p.canonical(), p.digest()
	}
	s.Data, _ = json.Marshal(structural)
	ev.Data = structural
	s.Hash = EventHashV2(prev, requestID, ev, s.Digest)
	return s
}

// EventHashV2 is SHA-256 over the previous hash and a canonical encoding
// of the event with ev.Data its structural part only and digest the
// SHA-256 of its personal part (nil: none): the version-2 chain link.
func EventHashV2(prev []byte, requestID string, ev dsr.Event, digest []byte) []byte {
	canon, _ := json.Marshal(struct {
		Version  int               `json:"v"`
		Request  string            `json:"request"`
		Seq      int               `json:"seq"`
		At       string            `json:"at"`
		Actor    string            `json:"actor"`
		Type     string            `json:"type"`
		Public   bool              `json:"public"`
		Data     map[string]string `json:"data"`
		Personal string            `json:"personal_digest"`
	}{HashV2, requestID, ev.Seq, ev.At.UTC().Format(time.RFC3339Nano), ev.Actor, ev.Type, ev.Public, nonNil(ev.Data), hex.EncodeToString(digest)})
	h := sha256.New()
	h.Write(prev)
	h.Write(canon)
	return h.Sum(nil)
}

// mergePersonal adds the personal part (event_personal.personal, nil when none
// or purged) to data for readers, who see one map as before.
func mergePersonal(data map[string]string, personal []byte) map[string]string {
	if personal == nil {
		return data
	}
	var p personalPart
	if json.Unmarshal(personal, &p) != nil {
		return data
	}
	if data == nil {
		data = map[string]string{}
	}
	for k, v := range p.Data {
		data[k] = v
	}
	return data
}

// checkPersonal reports whether a stored personal part matches its
// digest: both absent, or the part erased by the purge (personal nil,
// digest kept), or the part's digest equal to the stored one.
func checkPersonal(personal, digest []byte) bool {
	if personal == nil {
		return true
	}
	var p personalPart
	if json.Unmarshal(personal, &p) != nil || p.Data == nil || digest == nil {
		return false
	}
	return bytes.Equal(p.digest(), digest)
}
