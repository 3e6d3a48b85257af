"""Spanish (Latin American, tu form): every key of messages.EN.

GSM-7 only: it has ñ, é, ü, ¿ and ¡ but no á, í, ó or ú, so those accents are
dropped the way people do in SMS ("esta", "aqui", "mas", "numero"); a word
whose only accent is é keeps it ("estés", "después", "inglés"). Commands stay
the keywords the parser reads (START, OK, BUDDY, ...); the Spanish variants it
also accepts (AYUDA, SI, VOY, UNIRME, MAS) are mentioned where natural.
A buddy is a "contacto (de confianza)"; organizers are "el equipo organizador",
which keeps the texts free of gender.
"""

TEXTS = {
    # Timers
    "start_ok": "Temporizador activo hasta {end_at}. Manda OK cuando estés a salvo.",
    "start_replaced": "Tu temporizador anterior ya no corre. El nuevo va hasta {end_at}. "
                      "Manda OK cuando estés a salvo.",
    "start_no_buddy": "Aun no tienes contacto confirmado, asi que tus alertas van al equipo organizador. "
                      "Agrega uno: CONTACTO numero nombre",
    "start_usage": "Para empezar: START 60 (minutos), START 1h30 o START 10:30pm. "
                   "Después puedes poner donde o con quién.",
    "bad_duration": "El tiempo va de 1 minuto a 24 horas, por ej. START 45, START 1h30 o START 10:30pm.",
    "ok_no_timer": "No hay temporizador activo. Manda START 60 para empezar uno.",
    "ok_ended": "¡Qué bueno! Tu temporizador ya se detuvo.",
    "ok_after_alert": "¡Qué bueno! Tu temporizador ya se detuvo. Estamos avisando a quienes recibieron "
                      "la alerta que todo salio bien.",
    "ok_unclear": "Tu temporizador sigue corriendo. Para detenerlo, manda solo OK, sin nada mas.",
    "no_timer": "No hay temporizador activo. Manda START 60 para empezar uno.",
    "extend_ok": "Ahora tu temporizador corre hasta {end_at}. Manda OK cuando estés a salvo.",
    "extend_too_late": "Las alertas ya salieron, asi que la hora ya no se puede cambiar. "
                       "Manda OK cuando estés a salvo.",
    "extend_too_long": "Un temporizador dura 24 horas como maximo. Sigue hasta {end_at}.",
    "extend_usage": "Para sumar tiempo: MAS 30, MAS 1h o MAS 1h30.",
    "sos_ok": "Alerta enviada. Manda OK cuando estés a salvo.",
    "sos_nobody": "No se pudo avisar a nadie: agrega un contacto con CONTACTO numero nombre.",
    "status_none": "No hay temporizador activo. Manda START 60 para empezar uno.{reach_part}",
    "status_running": "Temporizador activo hasta {end_at}.{note_part}{reach_part}",
    "status_overdue": "Ya es la hora. Si no mandas OK, las alertas salen a las {alert_at}.{reach_part}",
    "status_alerting": "Las alertas salieron a las {alert_at}.{ack_part} Manda OK cuando estés a salvo.{reach_part}",
    "reminder": "Recordatorio: tu temporizador termina a las {end_at}. Si todo va bien, manda OK. Si necesitas "
                "mas tiempo, manda MAS 30.",
    "timeup": "Ya es la hora. Manda OK ahora, o en {minutes} min avisamos a tus contactos.",
    "member_alerted": "Ya avisamos a tus contactos. Manda OK cuando estés a salvo.",
    "alert_undelivered": "Tu alerta no pudo llegar a {names}. Tambien estamos avisando al equipo organizador. "
                         "Manda OK cuando estés a salvo.",
    "no_buddy_reachable": "No se le puede escribir a ninguno de tus contactos. Estamos avisando al equipo "
                          "organizador. Manda OK cuando estés a salvo.",
    "member_alerted_org": "No tienes contacto, asi que avisamos al equipo organizador. "
                          "Manda OK cuando estés a salvo.",
    # Alerts (to buddies and organizers)
    "alert": "{network}: {member} no se ha reportado. Temporizador desde {started_at}. "
             "Primero: llama o escribe ya al {phone}. Si no contesta, sigue intentando y pregunta a quien pueda "
             "saber donde esta. Responde ACK (o VOY) cuando te estés encargando.",
    "alert_repeat": "{network}: {member} sigue sin reportarse (alerta {round}; la primera fue a las {alert_at}). "
                    "Temporizador desde {started_at}. Llama o escribe ya al {phone}. Si no contesta, sigue "
                    "intentando y pregunta a quien pueda saber donde esta. Responde ACK (o VOY) cuando te estés "
                    "encargando.",
    "alert_last": "{network}: ULTIMA ALERTA. {member} no se ha reportado desde la alerta de las {alert_at}. "
                  "Temporizador desde {started_at}.{note_part} Llama ya al {phone}. Ya no se mandaran mas avisos. "
                  "Por favor actua ya.",
    "sos": "{network}: {member} pide ayuda ahora ({alert_at}). Primero: llama o escribe al {phone}. "
           "Si no contesta, sigue intentando y pregunta a quien pueda saber donde esta. "
           "Responde ACK (o VOY) cuando te estés encargando.",
    "ack_stale": "{network}: {member} sigue sin reportarse desde la alerta de las {alert_at}, aunque {by} ya "
                 "dijo que se encarga. Temporizador desde {started_at}.{note_part} Por favor da seguimiento: "
                 "llama al {phone}.",
    "ack_member": "{by} vio tu alerta y ya se esta encargando.",
    "ack_others": "{by} ya se esta encargando de la alerta de {member}.",
    "ack_ok": "Gracias. Te estas encargando de {names}; ya avisamos a los demas que recibieron la alerta.",
    "ack_already": "Gracias. Alguien ya se esta encargando de: {names}.",
    "ack_none": "No tienes ninguna alerta abierta ahora.",
    "standdown": "{network}: {member} avisa que esta a salvo. Ya no hace falta seguir con la alerta de las "
                 "{alert_at}. Gracias.",
    # Membership
    "invite_member": "{network}: te invitan a una linea por SMS para avisar que todo va bien. "
                     "Responde JOIN (o UNIRME) para aceptar, o ignora este mensaje. "
                     "Responde STOP para no recibir mas mensajes.",
    "join_ok": "Te damos la bienvenida a {network}. Tus contactos te veran como {alias}. "
               "Agrega uno: CONTACTO numero nombre. AYUDA para mas.",
    "join_none": "No hay ninguna invitacion para este numero.",
    "add_ok": "Invitacion enviada a {number}. Tiene que aceptar con JOIN o UNIRME.",
    "add_already": "{number} ya es miembro.",
    "add_usage": "Para invitar a alguien: ADD numero alias, por ej. ADD 415 555 0100 Rosa",
    "bad_number": "No pude leer ese numero. Escribelo asi: +14155550100 o 415 555 0100.",
    "rate_limited": "Demasiadas invitaciones por ahora. Intenta mas tarde.",
    "not_allowed": "Solo el equipo organizador puede hacer eso. Manda AYUDA (o HELP) para ver tus comandos.",
    "remove_ok": "{number} ya no es miembro.",
    "remove_unknown": "{number} no es miembro.",
    "remove_usage": "Para quitar a alguien: REMOVE numero",
    "removed_notice": "Ya no formas parte de {network}. Gracias.",
    "invite_organizer": "{network}: te invitan a ayudar a llevar esta linea como parte del equipo organizador. "
                        "Responde YES (o SI) para aceptar, o ignora este mensaje.",
    "organizer_invited": "Invitacion enviada a {number}. Tiene que aceptar con YES o SI.",
    "organizer_ok": "Ya eres parte del equipo organizador de {network}. Manda AYUDA (o HELP) para ver tus comandos.",
    "organizer_usage": "Para invitar a alguien al equipo organizador: ORGANIZER numero",
    # Buddies
    "invite_buddy": "{network}: {member} te pide ser su contacto de confianza. Si no se reporta a tiempo, "
                    "te llega un mensaje. Responde YES (o SI) para aceptar o NO para decir que no.",
    "buddy_invited": "Invitacion enviada a {number}. Recibira tus alertas cuando acepte.",
    "buddy_usage": "Para agregar un contacto: CONTACTO numero nombre, por ej. CONTACTO 415 555 0100 Sam",
    "buddy_self": "No puedes ser tu propio contacto.",
    "buddy_already": "{number} ya es tu contacto.",
    "buddy_blocked": "No se puede invitar a ese numero.",
    "buddy_yes": "Ya eres contacto de confianza de {member}. Si no se reporta a tiempo, te llega un mensaje: "
                 "ahi respondes VOY.",
    "buddy_accepted": "{name} ya es tu contacto: recibira tus alertas.",
    "buddy_no": "Listo. No recibiras mas invitaciones de esa persona.",
    "buddy_declined": "{name} prefirio no ser tu contacto.",
    "yes_which": "Tienes {count} invitaciones: {list}. Responde YES (o SI) y el numero, por ej. YES 1.",
    "yes_none": "No hay nada esperando respuesta.",
    "buddies_list": "Contactos: {list}",
    "buddies_none": "Aun no tienes contactos. Agrega uno: CONTACTO numero nombre",
    "unbuddy_ok": "{number} ya no recibira tus alertas.",
    "unbuddy_unknown": "{number} no es uno de tus contactos.",
    "unbuddy_usage": "Para quitar un contacto: QUITAR numero",
    "unbuddied": "Ya no recibiras alertas de {member}.",
    "name_ok": "Ahora tus contactos te veran como {alias}.",
    "name_usage": "Para elegir el nombre que ven tus contactos: NOMBRE y el nombre (hasta 20 letras).",
    # Covert safety, TEST, WIPE
    "word_set": "Listo. Borra este mensaje y el tuyo del telefono.",
    "word_off": "Listo, ya lo quitamos. Borra este mensaje y el tuyo del telefono.",
    "word_usage": "Pregunta al equipo organizador como activarlo.",
    "word_bad": "Esa no sirve: elige una sola palabra de 3 a 30 letras o numeros.",
    "word_is_command": "Esa palabra es un comando de esta linea; elige otra.",
    "word_same": "Las dos palabras tienen que ser distintas; elige otra.",
    "word_needs_safe": "Para cambiar esto, incluye tu palabra actual en el mismo mensaje.",
    "duress": "{network}: alarma silenciosa de {member} ({alert_at}). Tal vez no pueda hablar libremente. No le "
              "escribas sobre esto. Primero: llama al {phone} con cualquier pretexto. Si no contesta, sigue "
              "intentando y pregunta a quien pueda saber donde esta. Responde ACK (o VOY) cuando te estés "
              "encargando.",
    "test_buddy": "{network}: SOLO ES UNA PRUEBA de {member}. No pasa nada malo. Es para revisar que te lleguen "
                  "las alertas.",
    "test_sent": "Prueba enviada a {names}. Pregunta si la recibieron.",
    "test_nobody": "No tienes contacto confirmado para la prueba. Agrega uno: CONTACTO numero nombre",
    "test_undelivered": "Tu prueba no pudo llegar a {name}. Revisa el numero con esa persona.",
    "wipe_confirm": "Esto borra todo lo guardado sobre este numero. Para confirmar, responde BORRAR SI.",
    "wipe_done": "Listo: borramos todo lo guardado sobre este numero.",
    "buddy_link_ended": "{name} ya no es tu contacto.",
    # General
    "help": "{network}: ¿En peligro? Manda SOS (o AUXILIO) y avisamos ya a tus contactos. "
            "START 60 (y donde, con quién): si en 60 min no mandas OK, avisamos a tus contactos. "
            "OK (o LISTO): todo bien, se detiene. MAS 30: 30 min mas. ESTADO: ver tu temporizador. "
            "CONTACTO numero nombre: invitar a alguien de confianza que recibe tus alertas. CONTACTOS: verlos. "
            "QUITAR numero: quitar uno. PRUEBA: revisar que les lleguen.",
    "help_organizer": "Equipo organizador: ADD numero alias, REMOVE numero, ORGANIZER numero, MEMBERS, "
                      "ALERTS, BROADCAST texto, REPORTS, APPROVE id (SEND), REJECT id, CARD ES texto.",
    "help_more": "Mas: NOMBRE y un nombre: como te ven tus contactos. DERECHOS: tus derechos. REPORT y que "
                 "sucedio: avisar al equipo organizador de alguien peligroso. CHECK y un numero o placa: ver si hay "
                 "avisos. LANG EN: English. BORRAR: borrar todo lo tuyo. STOP: ya no recibir mensajes.",
    "help_buddy": "{network}: eres contacto de confianza. Cuando llegue una alerta, responde ACK (o VOY) "
                  "cuando te estés encargando. YES (o SI) o NO responde a una invitacion. "
                  "STOP corta todos los mensajes.",
    "unknown": "Disculpa, no entendi. Manda AYUDA para ver los comandos. ¿En peligro? Manda SOS.",
    "did_you_mean": "¿Quisiste decir {suggestion}? No se hizo nada. Mandalo de nuevo para hacerlo.",
    "help_running": "Tu temporizador corre hasta {end_at}. Solo OK lo termina; STOP no. "
                    "SOS da la alarma ya.",
    "empty": "Tu mensaje vino vacio. Manda AYUDA para ver los comandos.",
    "stranger": "Este numero solo responde a personas invitadas.",
    "lang_ok": "Los mensajes a este numero llegaran en español.",
    "lang_usage": "Idiomas: LANG EN (inglés), LANG ES (español).",
    "line_down": "{network}: la linea no puede mandar alarmas por ahora. No confies en los temporizadores "
                 "hasta que te avisemos que ya funciona.",
    "line_up": "{network}: la linea ya funciona de nuevo y vuelve a mandar alarmas.",
    "not_available": "Ese comando aun no esta disponible en esta linea.",
    # Pieces other texts are built from.
    "part_note": " Nota: {note}.",
    "part_ack": " {by} dijo que se encarga.",
    "part_list": " {list}",
    "part_reached": " Recibieron: {names}.",
    "part_missed": " No recibieron: {names}.",
    # Network: reports, screening, broadcasts, rights card
    "report_usage": "Para avisar al equipo organizador sobre alguien: REPORT y que sucedio, con su numero o placa "
                    "si los tienes.",
    "report_ok": "Gracias. Tu reporte es #{id}. El equipo organizador lo va a revisar. Tu nombre y tu numero nunca "
                 "se muestran a nadie mas.",
    "report_limited": "Demasiados reportes por ahora. Intenta mas tarde.",
    "report_forward": "{network}: reporte #{id} de {alias}:{list_part} {note} Responde APPROVE {id} para usarlo en "
                      "CHECK, APPROVE {id} SEND para avisar tambien a todo el grupo, o REJECT {id}.",
    "redacted_number": "[numero]",
    "redacted_plate": "[placa]",
    "redacted_name": "[nombre]",
    "report_unknown": "No hay ningun reporte abierto #{id}.",
    "report_already": "El reporte #{id} ya esta aprobado.",
    "approve_ok": "Reporte #{id} aprobado: ya cuenta para CHECK.",
    "approve_sent": "Reporte #{id} aprobado y el aviso va saliendo. Miembros: {count}. Mensajes: {texts}, unos "
                    "{minutes} min.",
    "approve_usage": "Para aprobar un reporte: APPROVE id, o APPROVE id SEND para avisar tambien a todo el grupo.",
    "reject_ok": "El reporte #{id} quedo descartado.",
    "reject_usage": "Para descartar un reporte: REJECT id",
    "reports_list": "Por revisar: {list}{list_part}. Responde APPROVE id o REJECT id.",
    "reports_none": "No hay reportes por revisar.",
    "check_usage": "Para revisar a alguien: CHECK y su numero o placa, por ej. CHECK 415 555 0100 o CHECK 7ABC123.",
    "check_bad": "Eso no es un numero de telefono ni una placa. Prueba CHECK 415 555 0100 o CHECK 7ABC123.",
    "check_none": "Ningun aviso aprobado coincide. Cuidate igual: avisa a tu contacto y usa START.",
    "check_found": "Avisos aprobados que coinciden: {count}. {list}. Piensalo bien; si vas, avisa a tu contacto y "
                   "usa START.",
    "check_limited": "Demasiadas revisiones por ahora. Intenta de nuevo en una hora.",
    "cat_violence": "violencia",
    "cat_robbery": "robo",
    "cat_protection": "se quito la proteccion",
    "cat_no_pay": "no pago",
    "cat_threats": "amenazas",
    "cat_drugging": "drogar a escondidas",
    "cat_other": "otro",
    "broadcast": "{network}: {note}",
    "broadcast_usage": "Para escribir a todo el grupo: BROADCAST y tu mensaje, de {max} caracteres como maximo.",
    "broadcast_too_long": "Son {count} caracteres ({texts} mensajes). El maximo es {max}, para que con el nombre de "
                          "la linea quepa en 3 mensajes. Acortalo, por favor.",
    "broadcast_none": "Todavia no hay a quien enviarlo.",
    "broadcast_ok": "Enviando ya. Miembros: {count}. Mensajes: {texts}, unos {minutes} min. Te avisamos cuando "
                    "todo haya salido.",
    "broadcast_done": "Tu mensaje ya salio. Miembros que lo reciben: {count}.",
    "rights": "{note}",
    "card_usage": "Para cambiar la tarjeta de derechos: CARD y el texto, o CARD ES y el texto en español. "
                  "Maximo 459 caracteres.",
    "card_too_long": "Esa tarjeta tiene {count} caracteres ({texts} mensajes). El maximo es 459 (3 mensajes). "
                     "Acortala.",
    "card_confirm": "La nueva tarjeta en {language} tiene {count} caracteres. Responde CARD YES (o CARD SI) en 10 "
                    "min para usarla, o CARD NO.",
    "card_ok": "Listo, cambiamos la tarjeta de derechos en {language}. El grupo la recibe con RIGHTS (o DERECHOS).",
    "card_cancelled": "Listo, la nueva tarjeta no se va a usar.",
    "card_nothing": "No hay tarjeta nueva esperando. Manda primero CARD y el texto.",
    "part_ids": " Numeros o placas: {list}.",
    "part_more": " y {count} mas",
    "part_waiting": " (pendiente)",
    "label_member": "para unirte",
    "label_organizer": "para organizar",
    "days": "lun mar mie jue vie sab dom",
    # es: words as people write them, invitations in two languages, the clock
    "unknown_running": "Tu temporizador sigue corriendo, hasta {end_at}. Para detenerlo, manda solo OK.",
    "did_you_mean_running": "¿Quisiste decir {suggestion}? No se hizo nada. Tu temporizador sigue hasta {end_at}; "
                            "para detenerlo, manda solo OK.",
    "duration_running": "Tu temporizador corre hasta {end_at}. Para sumar {minutes} min, manda MAS {minutes}. "
                        "Para detenerlo, manda solo OK.",
    "duration_start": "Para un temporizador de {minutes} min, manda START {minutes}. Todavia no empezo nada.",
    "clock_unclear": "{what} puede ser cuanto tiempo o a que hora, asi que no empezo nada. Para {h} h {m} min "
                     "manda START {h}h{m}; para la hora, START {h}:{m}pm.",
    "start_unclear": "No entendi la hora \"{what}\", asi que no empezo nada. Escribela asi: START 90, START 1h30 "
                     "o START 11pm.",
    "extend_unclear": "No entendi el tiempo \"{what}\", asi que todo sigue igual. Escribelo asi: MAS 30, MAS 1h o "
                      "MAS 1h30.",
    "clock_am": " am",
    "clock_pm": " pm",
    # organizers: visibility, reachability of buddies, fast clock
    "start_fast_clock": "Esta linea usa un reloj rapido de prueba, asi que no acepta una hora del dia. "
                        "Pon minutos, por ej. START 30.",
    "buddy_lost": "{name} ya no recibe mensajes de {network}: tus alertas no le llegarian. "
                  "Habla con esa persona o agrega otro contacto: BUDDY numero nombre",
    "buddy_back": "{name} ya puede recibir mensajes de {network} otra vez y recibira tus alertas.",
    "part_unreachable": " No se puede avisar a: {names}.",
    "part_unreachable_mark": " (sin mensajes)",
    "members_summary": "Miembros: {count}.{flags_part}{list_part}",
    "part_no_buddy": " Sin contacto confirmado: {list}.",
    "part_buddy_unreachable": " Con un contacto al que no se puede avisar: {list}.",
    "part_all_covered": " Todos tienen un contacto al que se puede avisar.",
    "part_all": " Todos: {list}.",
    "part_org": " (org)",
    "alerts_none": "No hay alertas abiertas ahora.",
    "alerts_list": "Alertas abiertas: {count}.{list}",
    "part_open_acked": " {member} {number}: alerta a las {alert_at}, hace {minutes} min. ACK de {by}.",
    "part_open_waiting": " {member} {number}: alerta a las {alert_at}, hace {minutes} min. Sin ACK aun.",
    "part_open_silent": " Alarma silenciosa: no le escribas primero.",
    "part_unreachable_many": " A {count} de tus contactos no se les puede avisar: mira BUDDIES.",
    # edges: alerts that follow what is true (a note or none; buddies, organizers or nobody), REMOVE mid-timer
    "alert_note": "{network}: {member} no se ha reportado. Temporizador desde {started_at}.{note_part} "
                  "Primero: llama o escribe ya al {phone}. Si no contesta, ve o manda a alguien; la nota puede "
                  "decir donde. Responde ACK (o VOY) cuando te estés encargando.",
    "alert_repeat_note": "{network}: {member} sigue sin reportarse (alerta {round}; la primera fue a las "
                         "{alert_at}). Temporizador desde {started_at}.{note_part} Llama o escribe ya al {phone}. "
                         "Si no contesta, ve o manda a alguien; la nota puede decir donde. Responde ACK (o VOY) "
                         "cuando te estés encargando.",
    "sos_note": "{network}: {member} pide ayuda ahora ({alert_at}).{note_part} Primero: llama o escribe al "
                "{phone}. Si no contesta, ve o manda a alguien; la nota puede decir donde. "
                "Responde ACK (o VOY) cuando te estés encargando.",
    "duress_note": "{network}: alarma silenciosa de {member} ({alert_at}). Tal vez no pueda hablar libremente. "
                   "No le escribas sobre esto.{note_part} Primero: llama al {phone} con cualquier pretexto. "
                   "Si no contesta, ve o manda a alguien; la nota puede decir donde. Responde ACK (o VOY) cuando "
                   "te estés encargando.",
    "ack_ok_alone": "Gracias. Te estas encargando de {names}.",
    "start_nobody": "No tienes contacto confirmado ni hay otra persona en el equipo organizador: nadie recibiria "
                    "tus alertas. Agrega uno: BUDDY numero nombre",
    "timeup_org": "Ya es la hora. Manda OK ya, o en {minutes} min avisamos al equipo organizador.",
    "timeup_nobody": "Ya es la hora. Manda OK ya. No tienes contacto ni hay a quien mas avisar.",
    "member_alerted_nobody": "No se pudo avisar a nadie: no tienes contacto ni hay otra persona en el equipo "
                             "organizador. Agrega uno: BUDDY numero nombre",
    "alert_undelivered_alone": "Tu alerta no pudo llegar a {names} y no hay equipo organizador a quien pasarla. "
                               "Si puedes, llama a alguien de confianza.",
    "remove_running": "{number} tiene un temporizador activo hasta {end_at}, asi que sigue como miembro por "
                      "ahora. Intenta REMOVE de nuevo cuando termine.",
    "remove_alerting": "{number} tiene una alarma abierta: las alertas ya salieron o estan por salir. Sigue como "
                       "miembro por ahora. Intenta REMOVE de nuevo cuando mande OK.",
    # android: gateways and failover
    "gateway_down": "{network}: {gateway} no puede enviar los textos de la linea. Salen por {backup}: pueden llegar desde ese numero.",
    "gateway_down_alone": "{network}: {gateway} no puede enviar los textos de la linea. Las alertas se reintentan hasta que salgan; revisalo.",
    "gateway_up": "{network}: {gateway} envia de nuevo los textos de la linea.",
    # abuse: one invitation per pending request, repeated SOS, floods
    "invite_waiting": "Ya hay una invitacion para {number} esperando respuesta. Vence en {count} dia(s) si no "
                      "responde.",
    "sos_reminder": "{network}: {member} sigue pidiendo ayuda ({alert_at}).{note_part} "
                    "Llama o escribe ya. Responde ACK (o VOY) cuando te estés encargando.",
    "slow_down": "Demasiados mensajes en un minuto: espera un poco. OK y SOS siempre funcionan.",
    # crypt: wipe
    "wipe_last_org": "Eres la ultima persona organizadora: borrar este numero dejaria la linea sin nadie. "
                     "Primero suma a otra (ORGANIZER numero), luego WIPE.",
    # crypt: reports
    "report_full_gone": "El reporte #{id} esta aprobado, pero su texto completo ya no se guarda. "
                        "Para avisar a todo el grupo, usa BROADCAST con tus palabras.",
    # fixa: alarm-time talk
    "alarm_talk": "Las alertas salieron a las {alert_at}.{ack_part} Les pasamos tu mensaje. "
                  "Manda OK cuando estés a salvo.",
    "relay": "{network}: mensaje desde el telefono de {member}: {what}",
    "alert_summary": "{list} Responde ACK (o VOY) si te estas encargando.",
    "alert_summary_mine": "{list} Ya respondiste que te encargas: gracias.",
    "part_summary_missed": "{member} {phone} no se ha reportado: tenia que hacerlo a las {alert_at}.",
    "part_summary_sos": "{member} {phone} pidio ayuda a las {alert_at}.",
    "part_summary_silent": "{member} {phone} tiene una alarma silenciosa desde las {alert_at}: no le escribas primero.",
    "part_summary_acked": " {by} se esta encargando.",
    "part_an_organizer": "Alguien del equipo organizador",
    "stranger_sos": "Este numero solo responde a personas invitadas. Si estas en peligro, llama a alguien de "
                    "confianza o al numero de emergencias de tu zona.",
    "contact_sos": "Solo las personas miembro pueden dar una alarma en esta linea. Si estas en peligro, llama a "
                   "alguien de confianza o al numero de emergencias de tu zona.",
    # fixb: trial fixes
    "remind_member": "{network}: te invitan a una linea para avisar que todo va bien. Responde UNIRME para "
                     "aceptar, o ignora este mensaje.",
    "remind_buddy": "{network}: {member} te pide ser su contacto: si no se reporta a tiempo, te llega un "
                    "mensaje. Responde SI para aceptar o NO para decir que no.",
    "remind_organizer": "{network}: te invitan a ayudar a llevar esta linea en el equipo organizador. Responde SI "
                        "para aceptar, o ignora este mensaje.",
    "remind_many": "{network}: tienes {count} invitaciones: {list}. Responde SI y el numero para aceptar "
                   "(SI 1), o NO y el numero para decir que no.",
    "invite_cancelled": "Invitacion a {number} cancelada. No se le manda ningun mensaje sobre esto.",
}
