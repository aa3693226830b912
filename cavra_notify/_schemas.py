"""Generated from models.py by ``python -m cavra_notify.models``: do not edit."""

from typing import Any

from .models import (
    Drill,
    DrillHistory,
    DrillSchedule,
    FallbackRoute,
    MaintenanceWindow,
    OwnerCalendar,
    OwnerRoute,
    RoutingPolicy,
    _Window,
    post_init,
)

PYDANTIC_CORE_VERSION = '2.50.5'

MODELS: list[dict[str, Any]] = [
    {
        'type': 'model',
        'cls': Drill,
        'config': {'extra_fields_behavior': 'allow', 'title': 'Drill'},
        'schema': {
            'type': 'model-fields',
            'fields': {
                'drill_id': {'type': 'model-field', 'schema': {'type': 'str'}},
                'executed_at': {
                    'type': 'model-field',
                    'schema': {
                        'type': 'datetime',
                        'microseconds_precision': 'truncate',
                        'tz_constraint': 'aware',
                    },
                },
                'actor': {
                    'type': 'model-field',
                    'schema': {
                        'type': 'default',
                        'schema': {'type': 'nullable', 'schema': {'type': 'str'}},
                        'default': None,
                    },
                },
                'source_mode': {
                    'type': 'model-field',
                    'schema': {
                        'type': 'default',
                        'schema': {'type': 'nullable', 'schema': {'type': 'str'}},
                        'default': None,
                    },
                },
                'target_mode': {
                    'type': 'model-field',
                    'schema': {
                        'type': 'default',
                        'schema': {'type': 'nullable', 'schema': {'type': 'str'}},
                        'default': None,
                    },
                },
                'status': {
                    'type': 'model-field',
                    'schema': {
                        'type': 'default',
                        'schema': {'type': 'nullable', 'schema': {'type': 'str'}},
                        'default': None,
                    },
                },
                'fallback_verified': {
                    'type': 'model-field',
                    'schema': {
                        'type': 'default',
                        'schema': {'type': 'nullable', 'schema': {'type': 'bool'}},
                        'default': None,
                    },
                },
                'recovery_minutes': {
                    'type': 'model-field',
                    'schema': {
                        'type': 'default',
                        'schema': {'type': 'nullable', 'schema': {'type': 'float'}},
                        'default': None,
                    },
                },
                'max_recovery_minutes': {
                    'type': 'model-field',
                    'schema': {
                        'type': 'default',
                        'schema': {'type': 'nullable', 'schema': {'type': 'float'}},
                        'default': None,
                    },
                },
                'runbook_ref': {
                    'type': 'model-field',
                    'schema': {
                        'type': 'default',
                        'schema': {'type': 'nullable', 'schema': {'type': 'str'}},
                        'default': None,
                    },
                },
                'evidence_refs': {
                    'type': 'model-field',
                    'schema': {
                        'type': 'default',
                        'schema': {'type': 'list', 'items_schema': {'type': 'str'}},
                        'default_factory': list,
                        'default_factory_takes_data': False,
                    },
                },
            },
            'model_name': 'Drill',
            'extra_behavior': 'allow',
        },
        'ref': 'Drill',
    },
    {
        'type': 'model',
        'cls': DrillHistory,
        'config': {'extra_fields_behavior': 'allow', 'title': 'DrillHistory'},
        'schema': {
            'type': 'model-fields',
            'fields': {
                'schema_version': {
                    'type': 'model-field',
                    'schema': {'type': 'literal', 'expected': ['cavra.go-backend-rollback-drill-history.v1']},
                },
                'environment': {
                    'type': 'model-field',
                    'schema': {
                        'type': 'default',
                        'schema': {'type': 'nullable', 'schema': {'type': 'str'}},
                        'default': None,
                    },
                },
                'drills': {
                    'type': 'model-field',
                    'schema': {
                        'type': 'default',
                        'schema': {
                            'type': 'list',
                            'items_schema': {'type': 'definition-ref', 'schema_ref': 'Drill'},
                        },
                        'default_factory': list,
                        'default_factory_takes_data': False,
                    },
                },
            },
            'model_name': 'DrillHistory',
            'extra_behavior': 'allow',
        },
        'ref': 'DrillHistory',
    },
    {
        'type': 'model',
        'cls': DrillSchedule,
        'config': {'extra_fields_behavior': 'allow', 'title': 'DrillSchedule'},
        'schema': {
            'type': 'model-fields',
            'fields': {
                'owner_routes': {
                    'type': 'model-field',
                    'schema': {
                        'type': 'default',
                        'schema': {
                            'type': 'nullable',
                            'schema': {
                                'type': 'dict',
                                'keys_schema': {'type': 'str'},
                                'values_schema': {'type': 'definition-ref', 'schema_ref': 'OwnerRoute'},
                            },
                        },
                        'default': None,
                    },
                },
                'maintenance_windows': {
                    'type': 'model-field',
                    'schema': {
                        'type': 'default',
                        'schema': {
                            'type': 'nullable',
                            'schema': {
                                'type': 'list',
                                'items_schema': {'type': 'definition-ref', 'schema_ref': 'MaintenanceWindow'},
                            },
                        },
                        'default': None,
                    },
                },
                'owner_calendars': {
                    'type': 'model-field',
                    'schema': {
                        'type': 'default',
                        'schema': {
                            'type': 'nullable',
                            'schema': {
                                'type': 'dict',
                                'keys_schema': {'type': 'str'},
                                'values_schema': {'type': 'definition-ref', 'schema_ref': 'OwnerCalendar'},
                            },
                        },
                        'default': None,
                    },
                },
                'schema_version': {
                    'type': 'model-field',
                    'schema': {'type': 'literal', 'expected': ['cavra.go-backend-rollback-drill-schedule.v1']},
                },
                'schedule_id': {'type': 'model-field', 'schema': {'type': 'str', 'min_length': 1}},
                'environment': {
                    'type': 'model-field',
                    'schema': {
                        'type': 'default',
                        'schema': {'type': 'nullable', 'schema': {'type': 'str'}},
                        'default': None,
                    },
                },
                'status': {
                    'type': 'model-field',
                    'schema': {
                        'type': 'default',
                        'schema': {'type': 'nullable', 'schema': {'type': 'str'}},
                        'default': None,
                    },
                },
                'interval_days': {
                    'type': 'model-field',
                    'schema': {
                        'type': 'default',
                        'schema': {'type': 'nullable', 'schema': {'type': 'int'}},
                        'default': None,
                    },
                },
                'next_due_at': {
                    'type': 'model-field',
                    'schema': {
                        'type': 'default',
                        'schema': {
                            'type': 'nullable',
                            'schema': {
                                'type': 'datetime',
                                'microseconds_precision': 'truncate',
                                'tz_constraint': 'aware',
                            },
                        },
                        'default': None,
                    },
                },
                'owners': {
                    'type': 'model-field',
                    'schema': {
                        'type': 'default',
                        'schema': {'type': 'list', 'items_schema': {'type': 'str'}},
                        'default_factory': list,
                        'default_factory_takes_data': False,
                    },
                },
                'notification_providers': {
                    'type': 'model-field',
                    'schema': {
                        'type': 'default',
                        'schema': {'type': 'list', 'items_schema': {'type': 'str'}},
                        'default_factory': list,
                        'default_factory_takes_data': False,
                    },
                },
                'runbook_ref': {
                    'type': 'model-field',
                    'schema': {
                        'type': 'default',
                        'schema': {'type': 'nullable', 'schema': {'type': 'str'}},
                        'default': None,
                    },
                },
            },
            'model_name': 'DrillSchedule',
            'extra_behavior': 'allow',
        },
        'ref': 'DrillSchedule',
    },
    {
        'type': 'function-after',
        'function': {'type': 'no-info', 'function': post_init},
        'schema': {
            'type': 'model',
            'cls': FallbackRoute,
            'config': {'extra_fields_behavior': 'allow', 'title': 'FallbackRoute'},
            'schema': {
                'type': 'model-fields',
                'fields': {
                    'owner': {'type': 'model-field', 'schema': {'type': 'str', 'min_length': 1}},
                    'providers': {
                        'type': 'model-field',
                        'schema': {'type': 'list', 'items_schema': {'type': 'str', 'min_length': 1}},
                    },
                },
                'model_name': 'FallbackRoute',
                'extra_behavior': 'allow',
            },
        },
        'ref': 'FallbackRoute',
    },
    {
        'type': 'function-after',
        'function': {'type': 'no-info', 'function': post_init},
        'schema': {
            'type': 'model',
            'cls': MaintenanceWindow,
            'config': {'extra_fields_behavior': 'allow', 'title': 'MaintenanceWindow'},
            'schema': {
                'type': 'model-fields',
                'fields': {
                    'start_at': {
                        'type': 'model-field',
                        'schema': {
                            'type': 'datetime',
                            'microseconds_precision': 'truncate',
                            'tz_constraint': 'aware',
                        },
                    },
                    'end_at': {
                        'type': 'model-field',
                        'schema': {
                            'type': 'datetime',
                            'microseconds_precision': 'truncate',
                            'tz_constraint': 'aware',
                        },
                    },
                    'reason': {
                        'type': 'model-field',
                        'schema': {
                            'type': 'default',
                            'schema': {'type': 'nullable', 'schema': {'type': 'str'}},
                            'default': None,
                        },
                    },
                    'window_id': {'type': 'model-field', 'schema': {'type': 'str'}},
                    'owners': {
                        'type': 'model-field',
                        'schema': {
                            'type': 'default',
                            'schema': {
                                'type': 'nullable',
                                'schema': {'type': 'list', 'items_schema': {'type': 'str'}},
                            },
                            'default': None,
                        },
                    },
                    'providers': {
                        'type': 'model-field',
                        'schema': {
                            'type': 'default',
                            'schema': {
                                'type': 'nullable',
                                'schema': {'type': 'list', 'items_schema': {'type': 'str'}},
                            },
                            'default': None,
                        },
                    },
                    'schedule_ids': {
                        'type': 'model-field',
                        'schema': {
                            'type': 'default',
                            'schema': {
                                'type': 'nullable',
                                'schema': {'type': 'list', 'items_schema': {'type': 'str'}},
                            },
                            'default': None,
                        },
                    },
                },
                'model_name': 'MaintenanceWindow',
                'extra_behavior': 'allow',
            },
        },
        'ref': 'MaintenanceWindow',
    },
    {
        'type': 'model',
        'cls': OwnerCalendar,
        'config': {'extra_fields_behavior': 'allow', 'title': 'OwnerCalendar'},
        'schema': {
            'type': 'model-fields',
            'fields': {
                'unavailable_windows': {
                    'type': 'model-field',
                    'schema': {
                        'type': 'default',
                        'schema': {
                            'type': 'list',
                            'items_schema': {'type': 'definition-ref', 'schema_ref': '_Window'},
                        },
                        'default_factory': list,
                        'default_factory_takes_data': False,
                    },
                },
            },
            'model_name': 'OwnerCalendar',
            'extra_behavior': 'allow',
        },
        'ref': 'OwnerCalendar',
    },
    {
        'type': 'model',
        'cls': OwnerRoute,
        'config': {'extra_fields_behavior': 'allow', 'title': 'OwnerRoute'},
        'schema': {
            'type': 'model-fields',
            'fields': {
                'providers': {
                    'type': 'model-field',
                    'schema': {
                        'type': 'default',
                        'schema': {
                            'type': 'nullable',
                            'schema': {'type': 'list', 'items_schema': {'type': 'str'}},
                        },
                        'default': None,
                    },
                },
                'acknowledgement_minutes': {
                    'type': 'model-field',
                    'schema': {
                        'type': 'default',
                        'schema': {'type': 'nullable', 'schema': {'type': 'int', 'gt': 0}},
                        'default': None,
                    },
                },
                'escalation_owner': {
                    'type': 'model-field',
                    'schema': {
                        'type': 'default',
                        'schema': {'type': 'nullable', 'schema': {'type': 'str'}},
                        'default': None,
                    },
                },
            },
            'model_name': 'OwnerRoute',
            'extra_behavior': 'allow',
        },
        'ref': 'OwnerRoute',
    },
    {
        'type': 'model',
        'cls': RoutingPolicy,
        'config': {'extra_fields_behavior': 'allow', 'title': 'RoutingPolicy'},
        'schema': {
            'type': 'model-fields',
            'fields': {
                'owner_routes': {
                    'type': 'model-field',
                    'schema': {
                        'type': 'default',
                        'schema': {
                            'type': 'nullable',
                            'schema': {
                                'type': 'dict',
                                'keys_schema': {'type': 'str'},
                                'values_schema': {'type': 'definition-ref', 'schema_ref': 'OwnerRoute'},
                            },
                        },
                        'default': None,
                    },
                },
                'maintenance_windows': {
                    'type': 'model-field',
                    'schema': {
                        'type': 'default',
                        'schema': {
                            'type': 'nullable',
                            'schema': {
                                'type': 'list',
                                'items_schema': {'type': 'definition-ref', 'schema_ref': 'MaintenanceWindow'},
                            },
                        },
                        'default': None,
                    },
                },
                'owner_calendars': {
                    'type': 'model-field',
                    'schema': {
                        'type': 'default',
                        'schema': {
                            'type': 'nullable',
                            'schema': {
                                'type': 'dict',
                                'keys_schema': {'type': 'str'},
                                'values_schema': {'type': 'definition-ref', 'schema_ref': 'OwnerCalendar'},
                            },
                        },
                        'default': None,
                    },
                },
                'schema_version': {
                    'type': 'model-field',
                    'schema': {
                        'type': 'default',
                        'schema': {
                            'type': 'nullable',
                            'schema': {
                                'type': 'literal',
                                'expected': ['cavra.go-backend-rollback-drill-routing.v1'],
                            },
                        },
                        'default': None,
                    },
                },
                'acknowledgement_minutes': {
                    'type': 'model-field',
                    'schema': {
                        'type': 'default',
                        'schema': {'type': 'nullable', 'schema': {'type': 'int', 'gt': 0}},
                        'default': None,
                    },
                },
                'repeat_interval_minutes': {
                    'type': 'model-field',
                    'schema': {
                        'type': 'default',
                        'schema': {'type': 'nullable', 'schema': {'type': 'int', 'gt': 0}},
                        'default': None,
                    },
                },
                'fallback_route': {
                    'type': 'model-field',
                    'schema': {
                        'type': 'default',
                        'schema': {
                            'type': 'nullable',
                            'schema': {'type': 'definition-ref', 'schema_ref': 'FallbackRoute'},
                        },
                        'default': None,
                    },
                },
            },
            'model_name': 'RoutingPolicy',
            'extra_behavior': 'allow',
        },
        'ref': 'RoutingPolicy',
    },
    {
        'type': 'function-after',
        'function': {'type': 'no-info', 'function': post_init},
        'schema': {
            'type': 'model',
            'cls': _Window,
            'config': {'extra_fields_behavior': 'allow', 'title': '_Window'},
            'schema': {
                'type': 'model-fields',
                'fields': {
                    'start_at': {
                        'type': 'model-field',
                        'schema': {
                            'type': 'datetime',
                            'microseconds_precision': 'truncate',
                            'tz_constraint': 'aware',
                        },
                    },
                    'end_at': {
                        'type': 'model-field',
                        'schema': {
                            'type': 'datetime',
                            'microseconds_precision': 'truncate',
                            'tz_constraint': 'aware',
                        },
                    },
                    'reason': {
                        'type': 'model-field',
                        'schema': {
                            'type': 'default',
                            'schema': {'type': 'nullable', 'schema': {'type': 'str'}},
                            'default': None,
                        },
                    },
                },
                'model_name': '_Window',
                'extra_behavior': 'allow',
            },
        },
        'ref': '_Window',
    },
]
