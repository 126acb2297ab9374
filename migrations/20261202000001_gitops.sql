-- Declarative import (GitOps) brings resident clients with their own consumer keys. The token
-- endpoint finds a resident client by its consumer key alone, so such a key must be unique on
-- the whole server, not only per key manager (generated keys are random and always were).
CREATE UNIQUE INDEX application_key_created_consumer_key ON application_key (consumer_key)
    WHERE mode = 'CREATED';
