-- A case's initiator in the model's words (models.Initiator): the CallGear
-- and REVE words stored before become contact, agent and invite. The dialects
-- map them back to their own words when they answer.
UPDATE cases SET initiator = CASE initiator
    WHEN 'visitor' THEN 'contact'
    WHEN 'operator' THEN 'agent'
    WHEN 'autoinvite' THEN 'invite'
    ELSE initiator END
WHERE initiator IN ('visitor', 'operator', 'autoinvite');
