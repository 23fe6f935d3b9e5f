-- The demo's own sample data: a small shop with customers (some columns sensitive) and orders.
CREATE TABLE customers (
  id          int PRIMARY KEY,
  name        text NOT NULL,
  email       text,
  card_number text,
  ssn         text,
  api_token   text,
  notes       text
);
INSERT INTO customers VALUES
  (1, 'Katherine Johnson', 'katherine@orbit.example.com', '4111111111111111', '123-45-6789', 'zq-Kj4Lm8Np2Qr6', 'VIP; backup card 5555555555554444'),
  (2, 'Dorothy Vaughan',   'dorothy@fortran.example.org', '5105105105105100', '234-56-7890', 'zq-Dv7Wx3Yz9Ab1', 'prefers mail to dv@compute.example.net'),
  (3, 'Mary Jackson',      'mary@tunnel.example.com',     '378282246310005',  '345-67-8901', 'zq-Mj2Cd5Ef8Gh4', 'no notes');

CREATE TABLE orders (
  id          int PRIMARY KEY,
  customer_id int REFERENCES customers(id),
  total       numeric(10,2) NOT NULL,
  status      text NOT NULL DEFAULT 'open'
);
INSERT INTO orders (id, customer_id, total) SELECT g, 1 + g % 3, g * 7.25 FROM generate_series(1, 24) g;
