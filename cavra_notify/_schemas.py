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
    PolicyMaintenanceWindow,
    PolicyOwnerCalendar,
    PolicyOwnerRoute,
    RetryPolicy,
    RoutingPolicy,
    _PolicyWindow,
    _Window,
    each_once,
    post_init,
    timestamp_text,
    timestamp_years,
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
                        'type': 'function-after',
                        'function': {'type': 'no-info', 'function': timestamp_years},
                        'schema': {
                            'type': 'function-before',
                            'function': {'type': 'no-info', 'function': timestamp_text},
                            'schema': {
                                'type': 'datetime',
                                'microseconds_precision': 'truncate',
                                'tz_constraint': 'aware',
                            },
                        },
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
                        'schema': {'type': 'nullable', 'schema': {'type': 'bool', 'strict': True}},
                        'default': None,
                    },
                },
                'recovery_minutes': {
                    'type': 'model-field',
                    'schema': {
                        'type': 'default',
                        'schema': {
                            'type': 'nullable',
                            'schema': {
                                'type': 'float',
                                'strict': True,
                                'allow_inf_nan': False,
                                'ge': -525600,
                                'le': 525600,
                            },
                        },
                        'default': None,
                    },
                },
                'max_recovery_minutes': {
                    'type': 'model-field',
                    'schema': {
                        'type': 'default',
                        'schema': {
                            'type': 'nullable',
                            'schema': {
                                'type': 'float',
                                'strict': True,
                                'allow_inf_nan': False,
                                'ge': -525600,
                                'le': 525600,
                            },
                        },
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
                        'schema': {'type': 'list', 'items_schema': {'type': 'str'}, 'max_length': 1000},
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
                            'max_length': 10000,
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
        'type': 'function-after',
        'function': {'type': 'no-info', 'function': post_init},
        'schema': {
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
                                    'max_length': 1000,
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
                                    'max_length': 1000,
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
                                    'max_length': 1000,
                                },
                            },
                            'default': None,
                        },
                    },
                    'schema_version': {
                        'type': 'model-field',
                        'schema': {
                            'type': 'literal',
                            'expected': ['cavra.go-backend-rollback-drill-schedule.v1'],
                        },
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
                            'schema': {
                                'type': 'nullable',
                                'schema': {'type': 'int', 'strict': True, 'ge': -36500, 'le': 36500},
                            },
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
                                    'type': 'function-after',
                                    'function': {'type': 'no-info', 'function': timestamp_years},
                                    'schema': {
                                        'type': 'function-before',
                                        'function': {'type': 'no-info', 'function': timestamp_text},
                                        'schema': {
                                            'type': 'datetime',
                                            'microseconds_precision': 'truncate',
                                            'tz_constraint': 'aware',
                                        },
                                    },
                                },
                            },
                            'default': None,
                        },
                    },
                    'owners': {
                        'type': 'model-field',
                        'schema': {
                            'type': 'default',
                            'schema': {
                                'type': 'function-after',
                                'function': {'type': 'no-info', 'function': each_once},
                                'schema': {
                                    'type': 'list',
                                    'items_schema': {'type': 'str'},
                                    'max_length': 1000,
                                },
                            },
                            'default_factory': list,
                            'default_factory_takes_data': False,
                        },
                    },
                    'notification_providers': {
                        'type': 'model-field',
                        'schema': {
                            'type': 'default',
                            'schema': {
                                'type': 'function-after',
                                'function': {'type': 'no-info', 'function': each_once},
                                'schema': {'type': 'list', 'items_schema': {'type': 'str'}, 'max_length': 100},
                            },
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
        },
        'ref': 'DrillSchedule',
    },
    {
        'type': 'function-after',
        'function': {'type': 'no-info', 'function': post_init},
        'schema': {
            'type': 'model',
            'cls': FallbackRoute,
            'config': {'extra_fields_behavior': 'forbid', 'title': 'FallbackRoute'},
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
                'extra_behavior': 'forbid',
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
                            'type': 'function-after',
                            'function': {'type': 'no-info', 'function': timestamp_years},
                            'schema': {
                                'type': 'function-before',
                                'function': {'type': 'no-info', 'function': timestamp_text},
                                'schema': {
                                    'type': 'datetime',
                                    'microseconds_precision': 'truncate',
                                    'tz_constraint': 'aware',
                                },
                            },
                        },
                    },
                    'end_at': {
                        'type': 'model-field',
                        'schema': {
                            'type': 'function-after',
                            'function': {'type': 'no-info', 'function': timestamp_years},
                            'schema': {
                                'type': 'function-before',
                                'function': {'type': 'no-info', 'function': timestamp_text},
                                'schema': {
                                    'type': 'datetime',
                                    'microseconds_precision': 'truncate',
                                    'tz_constraint': 'aware',
                                },
                            },
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
                                'schema': {
                                    'type': 'list',
                                    'items_schema': {'type': 'str'},
                                    'max_length': 1000,
                                },
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
                                'schema': {
                                    'type': 'list',
                                    'items_schema': {'type': 'str'},
                                    'max_length': 1000,
                                },
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
                                'schema': {
                                    'type': 'list',
                                    'items_schema': {'type': 'str'},
                                    'max_length': 1000,
                                },
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
                            'max_length': 1000,
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
                            'schema': {
                                'type': 'function-after',
                                'function': {'type': 'no-info', 'function': each_once},
                                'schema': {'type': 'list', 'items_schema': {'type': 'str'}, 'max_length': 100},
                            },
                        },
                        'default': None,
                    },
                },
                'acknowledgement_minutes': {
                    'type': 'model-field',
                    'schema': {
                        'type': 'default',
                        'schema': {
                            'type': 'nullable',
                            'schema': {'type': 'int', 'strict': True, 'gt': 0, 'le': 525600},
                        },
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
        'type': 'function-after',
        'function': {'type': 'no-info', 'function': post_init},
        'schema': {
            'type': 'model',
            'cls': PolicyMaintenanceWindow,
            'config': {'extra_fields_behavior': 'forbid', 'title': 'PolicyMaintenanceWindow'},
            'schema': {
                'type': 'model-fields',
                'fields': {
                    'start_at': {
                        'type': 'model-field',
                        'schema': {
                            'type': 'function-after',
                            'function': {'type': 'no-info', 'function': timestamp_years},
                            'schema': {
                                'type': 'function-before',
                                'function': {'type': 'no-info', 'function': timestamp_text},
                                'schema': {
                                    'type': 'datetime',
                                    'microseconds_precision': 'truncate',
                                    'tz_constraint': 'aware',
                                },
                            },
                        },
                    },
                    'end_at': {
                        'type': 'model-field',
                        'schema': {
                            'type': 'function-after',
                            'function': {'type': 'no-info', 'function': timestamp_years},
                            'schema': {
                                'type': 'function-before',
                                'function': {'type': 'no-info', 'function': timestamp_text},
                                'schema': {
                                    'type': 'datetime',
                                    'microseconds_precision': 'truncate',
                                    'tz_constraint': 'aware',
                                },
                            },
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
                                'schema': {
                                    'type': 'list',
                                    'items_schema': {'type': 'str'},
                                    'max_length': 1000,
                                },
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
                                'schema': {
                                    'type': 'list',
                                    'items_schema': {'type': 'str'},
                                    'max_length': 1000,
                                },
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
                                'schema': {
                                    'type': 'list',
                                    'items_schema': {'type': 'str'},
                                    'max_length': 1000,
                                },
                            },
                            'default': None,
                        },
                    },
                },
                'model_name': 'PolicyMaintenanceWindow',
                'extra_behavior': 'forbid',
            },
        },
        'ref': 'PolicyMaintenanceWindow',
    },
    {
        'type': 'model',
        'cls': PolicyOwnerCalendar,
        'config': {'extra_fields_behavior': 'forbid', 'title': 'PolicyOwnerCalendar'},
        'schema': {
            'type': 'model-fields',
            'fields': {
                'unavailable_windows': {
                    'type': 'model-field',
                    'schema': {
                        'type': 'default',
                        'schema': {
                            'type': 'list',
                            'items_schema': {'type': 'definition-ref', 'schema_ref': '_PolicyWindow'},
                            'max_length': 1000,
                        },
                        'default_factory': list,
                        'default_factory_takes_data': False,
                    },
                },
            },
            'model_name': 'PolicyOwnerCalendar',
            'extra_behavior': 'forbid',
        },
        'ref': 'PolicyOwnerCalendar',
    },
    {
        'type': 'model',
        'cls': PolicyOwnerRoute,
        'config': {'extra_fields_behavior': 'forbid', 'title': 'PolicyOwnerRoute'},
        'schema': {
            'type': 'model-fields',
            'fields': {
                'providers': {
                    'type': 'model-field',
                    'schema': {
                        'type': 'default',
                        'schema': {
                            'type': 'nullable',
                            'schema': {
                                'type': 'function-after',
                                'function': {'type': 'no-info', 'function': each_once},
                                'schema': {'type': 'list', 'items_schema': {'type': 'str'}, 'max_length': 100},
                            },
                        },
                        'default': None,
                    },
                },
                'acknowledgement_minutes': {
                    'type': 'model-field',
                    'schema': {
                        'type': 'default',
                        'schema': {
                            'type': 'nullable',
                            'schema': {'type': 'int', 'strict': True, 'gt': 0, 'le': 525600},
                        },
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
            'model_name': 'PolicyOwnerRoute',
            'extra_behavior': 'forbid',
        },
        'ref': 'PolicyOwnerRoute',
    },
    {
        'type': 'model',
        'cls': RetryPolicy,
        'config': {'extra_fields_behavior': 'forbid', 'title': 'RetryPolicy'},
        'schema': {
            'type': 'model-fields',
            'fields': {
                'delay_minutes': {
                    'type': 'model-field',
                    'schema': {
                        'type': 'default',
                        'schema': {'type': 'int', 'strict': True, 'gt': 0, 'le': 525600},
                        'default': 15,
                    },
                },
                'backoff_multiplier': {
                    'type': 'model-field',
                    'schema': {
                        'type': 'default',
                        'schema': {'type': 'float', 'strict': True, 'allow_inf_nan': False, 'ge': 1, 'le': 10},
                        'default': 2.0,
                    },
                },
                'max_retry_executions': {
                    'type': 'model-field',
                    'schema': {
                        'type': 'default',
                        'schema': {'type': 'int', 'strict': True, 'ge': 0, 'le': 25},
                        'default': 3,
                    },
                },
                'approval_expiry_minutes': {
                    'type': 'model-field',
                    'schema': {
                        'type': 'default',
                        'schema': {'type': 'int', 'strict': True, 'gt': 0, 'le': 525600},
                        'default': 1440,
                    },
                },
                'lookback_hours': {
                    'type': 'model-field',
                    'schema': {
                        'type': 'default',
                        'schema': {'type': 'int', 'strict': True, 'gt': 0, 'le': 2160},
                        'default': 24,
                    },
                },
                'playbook_min_failures': {
                    'type': 'model-field',
                    'schema': {
                        'type': 'default',
                        'schema': {'type': 'int', 'strict': True, 'gt': 0, 'le': 1000},
                        'default': 2,
                    },
                },
            },
            'model_name': 'RetryPolicy',
            'extra_behavior': 'forbid',
        },
        'ref': 'RetryPolicy',
    },
    {
        'type': 'model',
        'cls': RoutingPolicy,
        'config': {'extra_fields_behavior': 'forbid', 'title': 'RoutingPolicy'},
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
                                'values_schema': {'type': 'definition-ref', 'schema_ref': 'PolicyOwnerRoute'},
                                'max_length': 1000,
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
                                'items_schema': {'type': 'definition-ref', 'schema_ref': 'PolicyMaintenanceWindow'},
                                'max_length': 1000,
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
                                'values_schema': {'type': 'definition-ref', 'schema_ref': 'PolicyOwnerCalendar'},
                                'max_length': 1000,
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
                        'schema': {
                            'type': 'nullable',
                            'schema': {'type': 'int', 'strict': True, 'gt': 0, 'le': 525600},
                        },
                        'default': None,
                    },
                },
                'repeat_interval_minutes': {
                    'type': 'model-field',
                    'schema': {
                        'type': 'default',
                        'schema': {
                            'type': 'nullable',
                            'schema': {'type': 'int', 'strict': True, 'gt': 0, 'le': 525600},
                        },
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
                'retry_policy': {
                    'type': 'model-field',
                    'schema': {
                        'type': 'default',
                        'schema': {
                            'type': 'nullable',
                            'schema': {'type': 'definition-ref', 'schema_ref': 'RetryPolicy'},
                        },
                        'default': None,
                    },
                },
            },
            'model_name': 'RoutingPolicy',
            'extra_behavior': 'forbid',
        },
        'ref': 'RoutingPolicy',
    },
    {
        'type': 'function-after',
        'function': {'type': 'no-info', 'function': post_init},
        'schema': {
            'type': 'model',
            'cls': _PolicyWindow,
            'config': {'extra_fields_behavior': 'forbid', 'title': '_PolicyWindow'},
            'schema': {
                'type': 'model-fields',
                'fields': {
                    'start_at': {
                        'type': 'model-field',
                        'schema': {
                            'type': 'function-after',
                            'function': {'type': 'no-info', 'function': timestamp_years},
                            'schema': {
                                'type': 'function-before',
                                'function': {'type': 'no-info', 'function': timestamp_text},
                                'schema': {
                                    'type': 'datetime',
                                    'microseconds_precision': 'truncate',
                                    'tz_constraint': 'aware',
                                },
                            },
                        },
                    },
                    'end_at': {
                        'type': 'model-field',
                        'schema': {
                            'type': 'function-after',
                            'function': {'type': 'no-info', 'function': timestamp_years},
                            'schema': {
                                'type': 'function-before',
                                'function': {'type': 'no-info', 'function': timestamp_text},
                                'schema': {
                                    'type': 'datetime',
                                    'microseconds_precision': 'truncate',
                                    'tz_constraint': 'aware',
                                },
                            },
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
                'model_name': '_PolicyWindow',
                'extra_behavior': 'forbid',
            },
        },
        'ref': '_PolicyWindow',
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
                            'type': 'function-after',
                            'function': {'type': 'no-info', 'function': timestamp_years},
                            'schema': {
                                'type': 'function-before',
                                'function': {'type': 'no-info', 'function': timestamp_text},
                                'schema': {
                                    'type': 'datetime',
                                    'microseconds_precision': 'truncate',
                                    'tz_constraint': 'aware',
                                },
                            },
                        },
                    },
                    'end_at': {
                        'type': 'model-field',
                        'schema': {
                            'type': 'function-after',
                            'function': {'type': 'no-info', 'function': timestamp_years},
                            'schema': {
                                'type': 'function-before',
                                'function': {'type': 'no-info', 'function': timestamp_text},
                                'schema': {
                                    'type': 'datetime',
                                    'microseconds_precision': 'truncate',
                                    'tz_constraint': 'aware',
                                },
                            },
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
