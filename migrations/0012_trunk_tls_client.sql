-- Per-trunk TLS client profile for gateways with transport tls: the client
-- certificate and key we present, the CA file the gateway's certificate is
-- verified against (empty: the system trust store) and whether it is
-- verified at all. The name sent as SNI and matched against the certificate
-- stays per gateway (trunk_gateways.tls_server_name, else its host).
-- Paths are files on the SBC nodes, so they must be absolute; a certificate
-- needs its key and the reverse.
ALTER TABLE trunks
  ADD COLUMN tls_client_cert text NOT NULL DEFAULT ''
    CHECK (tls_client_cert = '' OR (tls_client_cert ~ '^/[^\n\r]*$' AND length(tls_client_cert) <= 4096)),
  ADD COLUMN tls_client_key text NOT NULL DEFAULT '',
  ADD COLUMN tls_ca_file text NOT NULL DEFAULT ''
    CHECK (tls_ca_file = '' OR (tls_ca_file ~ '^/[^\n\r]*$' AND length(tls_ca_file) <= 4096)),
  ADD COLUMN tls_verify boolean NOT NULL DEFAULT true,
  -- Named like a column check so that the console's error names the key field.
  ADD CONSTRAINT trunks_tls_client_key_check
    CHECK ((tls_client_key = '' OR (tls_client_key ~ '^/[^\n\r]*$' AND length(tls_client_key) <= 4096))
           AND (tls_client_cert = '') = (tls_client_key = ''));
