-- Stored mail keeps no working link: text_body and html_body hold the
-- message with every token replaced by [link]; the live bodies, needed
-- only to deliver the message, are sealed (AES-256-GCM, key from
-- DSR_SECRET_KEY) in "sealed" and wiped once the message is sent or has
-- failed for good.
ALTER TABLE messages ADD COLUMN sealed bytea;

-- Existing rows: redact the tokens of verify, status and download links
-- (256-bit tokens, 43 base64url characters).
UPDATE messages SET
    text_body = regexp_replace(text_body, '/(verify|status|download)/[A-Za-z0-9_-]{43,}', '/\1/[link]', 'g'),
    html_body = regexp_replace(html_body, '/(verify|status|download)/[A-Za-z0-9_-]{43,}', '/\1/[link]', 'g')
WHERE text_body ~ '/(verify|status|download)/[A-Za-z0-9_-]{43,}'
   OR html_body ~ '/(verify|status|download)/[A-Za-z0-9_-]{43,}';
