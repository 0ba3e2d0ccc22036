package telemetry

import (
	"fmt"
	"strings"
)

// DefaultRoot is the topic root when none is configured.
const DefaultRoot = "lifts"

// MaxLiftIDLen is the longest lift ID the contract allows.
const MaxLiftIDLen = 64

// ValidLiftID reports whether s is a contract lift ID: 1–64 characters of
// A-Z a-z 0-9 _ . -, starting with a letter or digit.
func ValidLiftID(s string) bool {
	if len(s) == 0 || len(s) > MaxLiftIDLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case (c == '_' || c == '.' || c == '-') && i > 0:
		default:
			return false
		}
	}
	return true
}

// ValidRoot reports whether root can prefix lift topics: non-empty levels
// without wildcards, no leading or trailing slash.
func ValidRoot(root string) error {
	if root == "" {
		return fmt.Errorf("topic root is empty")
	}
	if strings.ContainsAny(root, "+#\x00") {
		return fmt.Errorf("topic root %q contains a wildcard or NUL", root)
	}
	for _, lvl := range strings.Split(root, "/") {
		if lvl == "" {
			return fmt.Errorf("topic root %q has an empty level", root)
		}
	}
	return nil
}

// Topic builds <root>/<lift>/<kind>.
func Topic(root, lift string, k Kind) string {
	return root + "/" + lift + "/" + k.String()
}

// Subscription is the filter matching every lift topic under root.
func Subscription(root string) string { return root + "/+/+" }

// ParseTopic splits a topic under root into lift and kind. It does not
// allocate: lift is a substring of topic.
func ParseTopic(root, topic string) (lift string, k Kind, err error) {
	if len(topic) <= len(root)+1 || topic[:len(root)] != root || topic[len(root)] != '/' {
		return "", KindInvalid, &DecodeError{Reason: ReasonBadTopic, Msg: "topic is not under root " + root}
	}
	rest := topic[len(root)+1:]
	i := strings.IndexByte(rest, '/')
	if i < 0 {
		return "", KindInvalid, &DecodeError{Reason: ReasonBadTopic, Msg: "topic has no kind level"}
	}
	lift, ks := rest[:i], rest[i+1:]
	if !ValidLiftID(lift) {
		return "", KindInvalid, &DecodeError{Reason: ReasonBadTopic, Msg: "invalid lift ID in topic"}
	}
	k, ok := ParseKind(ks)
	if !ok {
		return "", KindInvalid, &DecodeError{Reason: ReasonBadTopic, Msg: "unknown kind level in topic"}
	}
	return lift, k, nil
}
