-- A small example table: short product reviews.
CREATE TABLE IF NOT EXISTS docs(id INTEGER PRIMARY KEY, title TEXT, body TEXT, summary TEXT);
DELETE FROM docs;
INSERT INTO docs(title, body) VALUES
  ('Kettle', 'Boils a full litre in under three minutes and switches itself off. The lid hinge feels flimsy.'),
  ('Headphones', 'Great noise cancelling on trains; the battery lasts a week. The ear cushions get warm.'),
  ('Desk lamp', 'Warm light, three brightness steps, and a heavy base that never tips over.'),
  ('Backpack', 'Fits a 15 inch laptop and a change of clothes. One zip broke after two months.'),
  ('Coffee grinder', 'Consistent grind for espresso, but loud enough to wake the whole house.'),
  ('Rain jacket', 'Kept me dry through a full day of hiking in the rain. Runs a size small.'),
  ('Keyboard', 'Quiet keys and a long battery life. The legs are too short for my taste.'),
  ('Water bottle', 'Keeps water cold for a whole day. The paint chipped when I dropped it.'),
  ('Running shoes', 'Light and cushioned; my knees stopped hurting on long runs.'),
  ('Air fryer', 'Crispy fries in fifteen minutes with almost no oil. The basket is hard to clean.'),
  ('Office chair', 'Good lumbar support for long days; assembly took over an hour.'),
  ('Phone case', 'Slim and grippy, survived several drops onto concrete.');
