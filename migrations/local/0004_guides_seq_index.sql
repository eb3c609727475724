-- The guides a catalogue delta changed, found without reading the whole cache: the terminal
-- updates its search index in place from the guides stored after the sequence it was built at.
CREATE INDEX guides_by_seq ON guides (seq);
