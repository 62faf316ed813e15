CREATE SEQUENCE assignment_id_seq AS bigint;
