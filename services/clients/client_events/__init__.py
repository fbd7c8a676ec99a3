"""Client events (客户答谢日: health talks, legal consultations, product briefings, community events),
invitations that respect marketing consent, RSVPs, attendance, clients acquired there, and the
referral trail of every client (manual 五.3, 一.1)."""
