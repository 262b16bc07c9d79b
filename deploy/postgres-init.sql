-- HAPI FHIR keeps its data in its own database next to pumpcheck's.
CREATE DATABASE hapi OWNER pumpcheck;
